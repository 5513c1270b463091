"""The private Hydra APIs the plugin uses, each with why (checked against hydra-core 1.3.2;
tests/test_private_api.py fails when a Hydra release changes one of them).

- `JobReturn._return_value`: the exception a failed job raised. The public `return_value`
  getter re-raises it and first writes "Error executing job with overrides: ..." to stderr,
  a line per failed trial that the sweep's own one-line report already says better.
- `Override._get_value_element_as_str`: Hydra's own rendering of a value as override text
  (escaping, `null`, lists); the public `get_value_element_as_str` renders only the value an
  override was parsed with, not a value sampled by Optuna.
- `Singleton._instances`: a reused Ray worker keeps the plugin registry of its first job when
  it takes the sweeping process's singletons (`Singleton.get_state` leaves the registry out,
  and rebuilding it re-scans every plugin module for each job).
- `ConfigLoaderImpl._apply_overrides_to_config` and `config_loader_impl.get_overrides_dirname`:
  how Hydra applies `key=value` overrides to a composed config and names the job's
  `override_dirname`. compositions.py applies a point's value overrides to a kept composition
  instead of composing every file again; Hydra's own code keeps its rules and its errors.
"""

from __future__ import annotations

from typing import Any

from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra.core.override_parser.types import Override
from hydra.core.plugins import Plugins
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import DictConfig


def job_error(job_return: JobReturn | None) -> BaseException | None:
    """The exception a failed job raised (None for a completed job or none at all)."""
    if job_return is None or job_return.status == JobStatus.COMPLETED:
        return None
    error = job_return._return_value
    return error if isinstance(error, BaseException) else None


def override_value_text(value: Any) -> str:
    return Override._get_value_element_as_str(value)


def with_plugin_registry_kept(state: dict[str, Any]) -> dict[str, Any]:
    """Hydra's singleton state, keeping this process's plugin registry when it has one."""
    plugins = Singleton._instances.get(Plugins)
    if plugins is None:
        return state
    return {**state, "instances": {**state["instances"], Plugins: plugins}}


def apply_config_overrides(overrides: list[Override], cfg: DictConfig) -> None:
    """Apply `key=value` overrides to a composed config as Hydra does after composing."""
    ConfigLoaderImpl._apply_overrides_to_config(overrides, cfg)


def overrides_dirname(app_overrides: list[Override], cfg: DictConfig) -> str:
    """`hydra.job.override_dirname` of a job with these (non-hydra) overrides, as Hydra names it."""
    settings = cfg.hydra.job.config.override_dirname
    return get_overrides_dirname(
        overrides=app_overrides,
        kv_sep=settings.kv_sep,
        item_sep=settings.item_sep,
        exclude_keys=settings.exclude_keys,
    )
