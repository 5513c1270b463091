"""Compose a sweep point as its trial will see it, and ask the app's point check about it.

    hydra:
      sweeper:
        point_check: my_app.checks.check_point   # f(cfg) -> None; raises to refuse the point
        # or, with settings for it (instantiated by Hydra as a partial, then called as f(cfg)):
        point_check: {_target_: my_app.checks.check_point, _partial_: true, objectives: [val_acc]}

Both sweepers call this for every grid point (the Optuna sweeper: every choice and both ends of
every range) before the first trial, so Hydra's own errors (missing key, bad group choice) and
the app's refusals stop the sweep in seconds with one line, not in trial 17. The point check
sees each composed point without its `hydra` node; whatever it raises refuses the point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hydra.errors import MissingConfigException
from hydra.utils import get_method, instantiate
from omegaconf import DictConfig

from hydra_plugins.seqsweep_plugins.engine.compositions import RecentCompositions
from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError, first_line, interrupt_behind

PointCheck = Callable[[DictConfig], Any]


def load_point_check(setting: str | Mapping[str, Any] | None) -> PointCheck | None:
    """None, a function named `module.name`, or a `{_target_, _partial_: true, ...}` node."""
    if not setting:
        return None
    shown = setting.get("_target_") if isinstance(setting, Mapping) else setting
    try:
        check = instantiate(setting) if isinstance(setting, Mapping) else get_method(str(setting))
    except Exception as error:  # noqa: BLE001 - any import problem is the same config mistake
        cause = error.__cause__ or error
        raise ConfigError(
            "hydra.sweeper.point_check", shown, f"a function `module.name` that can be imported ({cause})"
        ) from None
    if not callable(check):
        raise ConfigError("hydra.sweeper.point_check", shown, "a function, or a node with _partial_: true")
    return check


class PointComposer:
    """Composes points against the sweep's master config and runs the point check on them.

    `job_overrides` are what the sweep adds to every job's overrides (its folder, when it is not
    the configured one): composed with them, a checked point is the very composition its job
    asks for next, which `RecentCompositions` (compositions.py) then hands to the job as it is.
    """

    def __init__(self, hydra_context: Any, master_config: DictConfig, point_check: PointCheck | None) -> None:
        loader = hydra_context.config_loader
        self.config_loader = loader if isinstance(loader, RecentCompositions) else RecentCompositions(loader)
        self.master_config = master_config
        self.point_check = point_check
        self.job_overrides: list[str] = []

    def compose(self, overrides: Sequence[str]) -> DictConfig:
        """The point's config (hydra node removed), as its job will compose it."""
        return self.config_loader.load_point_config(self.master_config, [*overrides, *self.job_overrides])

    def error(self, overrides: Sequence[str]) -> str | None:
        """None when the point can run, else one line saying why not (and which point)."""
        where = f" (in sweep point: {' '.join(overrides)})" if overrides else ""
        try:
            cfg = self.compose(overrides)
        except Exception as error:  # noqa: BLE001 - Hydra's composition errors, reported as one line
            _raise_interrupt_behind(error)
            return composition_error(error) + where
        if self.point_check is None:
            return None
        try:
            self.point_check(cfg)
        except Exception as error:  # noqa: BLE001 - the app's refusal, whatever its type
            _raise_interrupt_behind(error)
            return first_line(error) + where
        return None


def _raise_interrupt_behind(error: Exception) -> None:
    """A signal that arrived while composing or checking stops the sweep; it refuses no point."""
    interrupt = interrupt_behind(error)
    if interrupt is not None:
        raise interrupt from None


def composition_error(error: Exception) -> str:
    """Hydra's composition error as one line; a missing group option names the group's options
    (Hydra lists them on later lines of its message, which one line would lose)."""
    line = first_line(error)
    options = getattr(error, "options", None) if isinstance(error, MissingConfigException) else None
    return f"{line}; the options are {', '.join(options)}" if options else line
