"""What of a resolved Hydra config is stored with a run: flat MLflow params and config.yaml.

Both pass every value through `mask_secrets`: a tracking or storage URL with a password must
never reach the store, the UI or an export.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from hydra_plugins.seqsweep_plugins import mask_secrets, mask_values


def _resolved(cfg: DictConfig) -> dict[str, Any]:
    container = OmegaConf.to_container(cfg, resolve=True)
    container.pop("hydra", None)
    return container


def flatten_config(cfg: DictConfig) -> dict[str, str]:
    """`{"model.units": "64", ...}` for every leaf of the resolved config (hydra's own keys
    excluded), passwords in URLs masked."""
    flat: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, child in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), child)
        else:
            flat[prefix] = "null" if value is None else mask_secrets(str(value))

    walk("", _resolved(cfg))
    return flat


def masked_config_yaml(cfg: DictConfig) -> str:
    """The resolved config as YAML (hydra's own keys excluded), passwords in URLs masked: the
    `config.yaml` artifact of a run."""
    return OmegaConf.to_yaml(OmegaConf.create(mask_values(_resolved(cfg))))
