"""Flatten a resolved Hydra config into MLflow params."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf


def flatten_config(cfg: DictConfig) -> dict[str, str]:
    """`{"model.units": "64", ...}` for every leaf of the resolved config (hydra's own keys excluded)."""
    container = OmegaConf.to_container(cfg, resolve=True)
    container.pop("hydra", None)
    flat: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, child in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), child)
        else:
            flat[prefix] = "null" if value is None else str(value)

    walk("", container)
    return flat
