"""Hydra plugins of this project (found by Hydra through the `hydra_plugins` namespace package)."""
