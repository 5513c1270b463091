"""The Optuna sweeper's configuration, checked and built once into a frozen `OptunaSettings`.

Every mistake raises ConfigError naming the key (one line, exit code 2, before any study or
record exists). The sampler and pruner are built here, so a bad `_target_` or argument is
refused before the study opens; GridSampler caps `n_trials` at the size of its grid.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from hydra.utils import get_class, get_method, instantiate
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import BaseDistribution

from hydra_plugins.seqsweep_plugins.engine.console import bare_key, say
from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError, first_line
from hydra_plugins.seqsweep_plugins.fidelity.levels import SETTING as FIDELITY
from hydra_plugins.seqsweep_plugins.fidelity.levels import Fidelity
from hydra_plugins.seqsweep_plugins.optuna_sweeper.ladder import level_pruner_settings
from hydra_plugins.seqsweep_plugins.optuna_sweeper.search_space import grid_values, parse_search_space
from hydra_plugins.seqsweep_plugins.optuna_sweeper.study import default_study_name


@dataclass(frozen=True)
class OptunaOptions:
    """The sweeper's own keys of `hydra.sweeper` as given (config.py documents each)."""

    sampler: Any
    pruner: Any
    n_trials: int
    n_jobs: int
    storage: str | None
    study_name: str | None
    heartbeat_interval: int | None
    params: Any
    custom_search_space: str | None
    refit_best: bool
    fidelity: Any = None
    store_outage_s: float = 60


@dataclass(frozen=True)
class OptunaSettings:
    """Everything the study and its source need, checked: the budget, search space, sampler, pruner, storage, objectives."""

    objectives: tuple[str, ...]
    directions: tuple[str, ...]
    n_trials: int
    n_jobs: int
    storage_url: str | None
    study_name: str
    heartbeat_interval: int | None
    search_space: tuple[str, ...]  # the overrides as given, `key=sweep syntax`
    distributions: dict[str, BaseDistribution]
    fixed: dict[str, str]
    sampler_settings: dict[str, Any]
    sampler: optuna.samplers.BaseSampler
    pruner_settings: dict[str, Any] | None
    pruner: optuna.pruners.BasePruner
    custom_search_space: Callable[[DictConfig, optuna.Trial], Any] | None
    refit_best: bool
    fidelity: Fidelity | None = None
    store_outage_s: float = 60

    @property
    def fixed_overrides(self) -> list[str]:
        return [f"{key}={value}" for key, value in self.fixed.items()]


def build_settings(
    options: OptunaOptions,
    arguments: Sequence[str],
    objectives: Sequence[str],
    directions: Sequence[str],
    label: str,
    in_process: bool,
) -> OptunaSettings:
    search_space = tuple([f"{key}={value}" for key, value in (options.params or {}).items()] + list(arguments))
    distributions, fixed = parse_search_space(search_space)
    _check_numbers(options)
    if options.storage is None and not in_process:
        raise ConfigError(
            "hydra.sweeper.storage",
            None,
            "a database URL (e.g. postgresql+psycopg://...) with this launcher: its workers cannot reach an in-memory study",
        )
    sampler_settings = _plain(options.sampler)
    sampler, n_trials = _sampler(sampler_settings, distributions, options.n_trials)
    pruner_settings = _plain(options.pruner) or None
    fidelity = _fidelity(options.fidelity, distributions, fixed, objectives)
    if fidelity is not None:
        pruner_settings = level_pruner_settings(pruner_settings, fidelity)
    return OptunaSettings(
        objectives=tuple(objectives),
        directions=tuple(directions),
        n_trials=n_trials,
        n_jobs=options.n_jobs,
        storage_url=options.storage,
        study_name=options.study_name or default_study_name(label, search_space, objectives, directions),
        heartbeat_interval=options.heartbeat_interval,
        search_space=search_space,
        distributions=distributions,
        fixed=fixed,
        sampler_settings=sampler_settings,
        sampler=sampler,
        pruner_settings=pruner_settings,
        pruner=_pruner(pruner_settings, len(objectives)),
        custom_search_space=_custom_search_space(options.custom_search_space),
        refit_best=bool(options.refit_best),
        fidelity=fidelity,
        store_outage_s=float(options.store_outage_s),
    )


def _fidelity(
    setting: Any, distributions: dict[str, BaseDistribution], fixed: dict[str, str], objectives: Sequence[str]
) -> Fidelity | None:
    """The checked fidelity; its key may be neither searched nor fixed (each level sets it)."""
    fidelity = Fidelity.from_setting(_plain(setting))
    if fidelity is None:
        return None
    keys = {bare_key(key) for key in [*distributions, *fixed]}
    if fidelity.key in keys:
        raise ConfigError(
            f"{FIDELITY}.key",
            fidelity.key,
            "a key that is neither in the search space nor set for every trial: each level of a trial sets it",
        )
    if len(objectives) != 1:
        raise ConfigError(
            f"{FIDELITY}.key",
            fidelity.key,
            "null with two or more objectives: Optuna reports levels of single-objective trials only",
        )
    return fidelity


def reseeded_sampler(settings: OptunaSettings, existing: int) -> optuna.samplers.BaseSampler | None:
    """A seeded sampler restarted on a resumed study would repeat the first trials' parameters:
    one seeded from the configured seed and the number of trials already there (None: keep it)."""
    seed = settings.sampler_settings.get("seed") if existing else None
    if seed is None or isinstance(settings.sampler, optuna.samplers.GridSampler):
        return None
    return _build("hydra.sweeper.sampler", settings.sampler_settings, seed=(int(seed) * 1_000_003 + existing) % 2**31)


def _check_numbers(options: OptunaOptions) -> None:
    _check_whole_number("hydra.sweeper.n_trials", options.n_trials)
    _check_whole_number("hydra.sweeper.n_jobs", options.n_jobs)
    if options.heartbeat_interval is not None:
        _check_whole_number("hydra.sweeper.heartbeat_interval", options.heartbeat_interval)
    outage = options.store_outage_s
    if isinstance(outage, bool) or not isinstance(outage, (int, float)) or not 0 <= outage < float("inf"):
        raise ConfigError("hydra.sweeper.store_outage_s", outage, "a number of seconds >= 0 (0: give up at once)")


def _sampler(
    settings: dict[str, Any], distributions: dict[str, BaseDistribution], n_trials: int
) -> tuple[optuna.samplers.BaseSampler, int]:
    """The sampler, and the number of trials it can give (GridSampler: at most its grid)."""
    sampler_class = _optuna_class("hydra.sweeper.sampler", settings, optuna.samplers.BaseSampler, "optuna.samplers")
    if not issubclass(sampler_class, optuna.samplers.GridSampler):
        return _build("hydra.sweeper.sampler", settings), n_trials
    grid = {key: grid_values(key, d) for key, d in distributions.items()}
    size = 1
    for values in grid.values():
        size *= len(values)
    if n_trials > size:
        say(f"GridSampler: the grid has {size} points, so n_trials={size} instead of {n_trials}")
    return _build("hydra.sweeper.sampler", settings, search_space=grid), min(n_trials, size)


def _pruner(settings: dict[str, Any] | None, objectives: int) -> optuna.pruners.BasePruner:
    if not settings:
        # Not None: optuna.create_study(pruner=None) means a MedianPruner, and `pruner: null`
        # means no pruning (as in the jobs on Ray, which build the pruner from the same setting).
        return optuna.pruners.NopPruner()
    _optuna_class("hydra.sweeper.pruner", settings, optuna.pruners.BasePruner, "optuna.pruners")
    target = settings["_target_"]
    if objectives > 1 and not target.endswith("NopPruner"):
        raise ConfigError(
            "hydra.sweeper.pruner", target, "null with two or more objectives: Optuna prunes single-objective studies only"
        )
    return _build("hydra.sweeper.pruner", settings)


def _custom_search_space(name: str | None) -> Any:
    if not name:
        return None
    try:
        return get_method(name)
    except Exception as error:  # noqa: BLE001 - any import problem is the same config mistake
        raise ConfigError(
            "hydra.sweeper.custom_search_space", name, f"a function `module.name(cfg, trial)` that can be imported ({error})"
        ) from None


def _optuna_class(key: str, settings: Any, base: type, module: str) -> type:
    target = settings.get("_target_") if isinstance(settings, dict) else None
    cls = None
    if isinstance(target, str) and target:
        try:
            cls = get_class(target)
        except Exception:  # noqa: BLE001 - any import problem is the same config mistake
            cls = None
    if not isinstance(cls, type) or not issubclass(cls, base):
        names = [
            n
            for n, member in vars(sys.modules[module]).items()
            if isinstance(member, type) and issubclass(member, base) and not n.startswith(("Base", "_"))
        ]
        raise ConfigError(
            f"{key}._target_", target, f"a class of {module}: " + ", ".join(f"{module}.{n}" for n in sorted(names))
        )
    return cls


def _build(key: str, settings: dict[str, Any], **extra: Any) -> Any:
    try:
        return instantiate(settings, **extra)
    except Exception as error:  # noqa: BLE001 - wrong keyword, missing extra package, ...
        cause = error.__cause__ or error
        raise ConfigError(
            key, settings["_target_"], f"valid arguments for it ({type(cause).__name__}: {first_line(cause)})"
        ) from None


def _plain(settings: Any) -> Any:
    return OmegaConf.to_container(settings, resolve=True) if isinstance(settings, DictConfig) else settings


def _check_whole_number(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(key, value, "a whole number >= 1")
