"""`hydra/sweeper=optuna`: an Optuna study over Hydra's sweep syntax (settings: config.py, settings.py).

Bad settings stop the command before any study, trial or tracker record exists: one line naming
the key and what is allowed, exit code 2. Every choice value and both ends of every range and
interval are composed (and run through the app's point check) before the first trial; each
sampled point is checked again before it is launched (a combination of values can be refused
even when each value is fine on its own), and a refused point is a FAIL trial.

Budget: `n_trials` counts the trials that ended by themselves (COMPLETE, PRUNED, FAIL). A trial
whose worker or sweeping process died is FAIL with `failure=infrastructure`, is not counted, and
is run again with the same parameters through Optuna's RetryHeartbeatStaleTrialCallback (the rerun names
the trial it repeats). Counting and asking happen under one lock on the storage, so several
sweeping processes on one study never pass `n_trials` together.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
from omegaconf import OmegaConf
from optuna.distributions import BaseDistribution, check_distribution_compatibility

from hydra_plugins.seqsweep_plugins.engine.console import bare_key, quiet_loggers, say
from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError, PointRefused
from hydra_plugins.seqsweep_plugins.engine.executor import runs_in_process
from hydra_plugins.seqsweep_plugins.engine.lifecycle import SweepStatus
from hydra_plugins.seqsweep_plugins.engine.loop import LoopResult, TrialLoop
from hydra_plugins.seqsweep_plugins.engine.points import PointComposer
from hydra_plugins.seqsweep_plugins.engine.secrets import mask_secrets
from hydra_plugins.seqsweep_plugins.engine.template import SweepPlan, SweepTemplate
from hydra_plugins.seqsweep_plugins.engine.tracker import SweepStart
from hydra_plugins.seqsweep_plugins.fidelity.levels import SETTING as FIDELITY
from hydra_plugins.seqsweep_plugins.fidelity.levels import Fidelity
from hydra_plugins.seqsweep_plugins.optuna_sweeper.refit import refit_best
from hydra_plugins.seqsweep_plugins.optuna_sweeper.results import (
    best_trials,
    describe,
    state_counts,
    write_optimization_results,
)
from hydra_plugins.seqsweep_plugins.optuna_sweeper.search_space import describe_distribution, edge_values, override_text
from hydra_plugins.seqsweep_plugins.optuna_sweeper.settings import (
    OptunaOptions,
    OptunaSettings,
    build_settings,
    reseeded_sampler,
)
from hydra_plugins.seqsweep_plugins.optuna_sweeper.source import StudySource
from hydra_plugins.seqsweep_plugins.optuna_sweeper.study import (
    counted_trials,
    heartbeats,
    open_storage,
    recover_abandoned_trials,
)


class OptunaStudySweeper(SweepTemplate):
    """The Optuna sweep on the shared template (plugin.py is the class Hydra instantiates)."""

    kind = "optuna"

    def __init__(
        self,
        sampler: Any,
        pruner: Any,
        n_trials: int,
        n_jobs: int,
        storage: str | None,
        study_name: str | None,
        heartbeat_interval: int | None,
        params: Any = None,
        store_outage_s: float = 60,
        custom_search_space: str | None = None,
        refit_best: bool = False,
        fidelity: Any = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.options = OptunaOptions(
            sampler,
            pruner,
            n_trials,
            n_jobs,
            storage,
            study_name,
            heartbeat_interval,
            params,
            custom_search_space,
            refit_best,
            fidelity,
            store_outage_s,
        )

    def plan(self, arguments: list[str]) -> SweepPlan:
        self.settings = build_settings(
            self.options, arguments, self.objectives, self.directions, self.label(), runs_in_process(self.launcher)
        )
        return SweepPlan(varying=list(self.settings.distributions), fixed=self.settings.fixed_overrides)

    def check_points(self, plan: SweepPlan, composer: PointComposer) -> None:
        _check_edges(self.settings, composer)

    def max_slots(self) -> int:
        return self.settings.n_jobs

    def open_stores(self, plan: SweepPlan) -> None:
        """Create or load the study, check it searches the same space, recover trials of dead processes."""
        settings = self.settings
        quiet_loggers("optuna")
        self.storage = open_storage(
            settings.storage_url,
            settings.heartbeat_interval,
            keep_levels=settings.fidelity is not None,
            outage_s=settings.store_outage_s,
        )
        try:
            self.study = optuna.create_study(
                storage=self.storage,
                sampler=settings.sampler,
                pruner=settings.pruner,
                study_name=settings.study_name,
                directions=list(settings.directions),
                load_if_exists=True,
            )
        except ValueError as error:  # an existing study with other directions
            raise ConfigError(
                "hydra.sweeper.study_name",
                settings.study_name,
                f"a new name, or the directions of the existing study ({error})",
            ) from None
        _check_same_search_space(self.study, settings.distributions)
        self.existing = len(self.study.trials)
        for line in recover_abandoned_trials(self.study, self.storage, keep_levels=settings.fidelity is not None):
            say(line)
        reseeded = reseeded_sampler(settings, self.existing)
        if reseeded is not None:
            self.study.sampler = reseeded
        # Named objectives in optuna-dashboard and study.trials_dataframe() (experimental, stable since 3.2).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.study.set_metric_names(list(settings.objectives))

    def describe(self, plan: SweepPlan) -> list[str]:
        settings = self.settings
        goals = ", ".join(f"{d} {o}" for o, d in zip(self.objectives, self.directions))
        storage = "in memory" if settings.storage_url is None else mask_secrets(settings.storage_url)
        pruner = (settings.pruner_settings or {}).get("_target_", "none")
        lines = [
            f"dry run: Optuna study '{settings.study_name}' ({storage}): {goals}; n_trials={settings.n_trials}, "
            f"n_jobs={settings.n_jobs}; sampler {settings.sampler_settings.get('_target_')}, pruner {pruner}",
        ]
        lines += [f"  {key}: {describe_distribution(d)}" for key, d in settings.distributions.items()]
        if settings.fidelity:
            lines.append(_ladder_line(settings.fidelity))
        if plan.fixed:
            lines.append(f"  every trial: {' '.join(plan.fixed)}")
        return lines

    def announce(self, plan: SweepPlan) -> str:
        goals = ", ".join(f"{d} {o}" for o, d in zip(self.objectives, self.directions))
        ladder = f"; {_ladder_line(self.settings.fidelity).strip()}" if self.settings.fidelity else ""
        return f"Optuna search of {', '.join(plan.varying)}: {goals}; n_trials={self.settings.n_trials}{ladder}"

    def header(self, plan: SweepPlan, sweep_dir: Path) -> str:
        return f"Optuna study '{self.study.study_name}': {self.existing} trial(s) so far; folder {sweep_dir}"

    def sweep_start(self, plan: SweepPlan, sweep_dir: Path) -> SweepStart:
        start = super().sweep_start(plan, sweep_dir)
        start.total = self.settings.n_trials
        start.resumed_trials = self.existing
        storage = "in memory" if self.settings.storage_url is None else str(self.storage.url)
        start.study = {
            "name": self.study.study_name,
            "storage": mask_secrets(storage),
            "sampler": str(self.settings.sampler_settings.get("_target_")),
        }
        return start

    def source(self, plan: SweepPlan, sweep_data: dict[str, Any]) -> StudySource:
        return StudySource(
            self.settings,
            self.study,
            self.storage,
            self.composer,
            self.config,
            sweep_data,
            runs_in_process(self.launcher),
            self.best_rule,
        )

    def planned_trials(self, source: StudySource) -> int:
        return max(self.settings.n_trials - counted_trials(self.study), 0)

    @contextlib.contextmanager
    def while_running(self, source: StudySource) -> Iterator[None]:
        with heartbeats(self.storage, source.running_ids):
            yield

    def after_trials(self, result: LoopResult, source: StudySource, loop: TrialLoop) -> None:
        for line in source.stop_climbing(result.tally.message or "the sweep stopped"):
            say(line)
        if self.settings.refit_best and result.tally.status is SweepStatus.FINISHED:
            refit_best(self.study, self.settings, source, loop)

    def best(self, source: StudySource) -> tuple[list[dict[str, Any]], str | None]:
        say(f"study '{self.study.study_name}': {len(self.study.trials)} trials ({state_counts(self.study)})")
        best, reason = best_trials(self.study, self.objectives, self.best_rule)
        print(describe(best, self.objectives, self.directions, self.best_rule, reason), flush=True)
        write_optimization_results(self.sweep_dir, best, self.objectives, self.directions, self.best_rule)
        return best.to_dict("records"), reason


def _ladder_line(fidelity: Fidelity) -> str:
    curve = ", learning-curve rule on" if fidelity.curve_stop else ""
    return f"  levels of {fidelity.key}: {', '.join(map(str, fidelity.levels))} (one job each{curve})"


def _check_edges(settings: OptunaSettings, composer: PointComposer) -> None:
    """Every choice and both ends of every range and interval, each with the other keys at their
    first value; with a fidelity, at its top level, and the first point at its lowest level too."""
    distributions = settings.distributions
    fidelity = settings.fidelity
    first = {key: override_text(key, edge_values(d)[0]) for key, d in distributions.items()}
    top = [fidelity.top_override] if fidelity else []
    base = [*first.values(), *settings.fixed_overrides, *top]
    points = [base] + [
        [override_text(key, value) if k == key else text for k, text in first.items()] + base[len(first) :]
        for key, d in distributions.items()
        for value in edge_values(d)[1:]
    ]
    if fidelity:
        _check_fidelity_key(fidelity, composer, base)
        points.append([*first.values(), *settings.fixed_overrides, fidelity.override(fidelity.min)])
    for point in points:
        error = composer.error(point)
        if error is not None:
            raise PointRefused(error)


def _check_fidelity_key(fidelity: Fidelity, composer: PointComposer, point: list[str]) -> None:
    """The fidelity's key must be an integer setting of the app's config (or one that is null by default)."""
    try:
        value = OmegaConf.select(composer.compose(point[:-1]), fidelity.key, throw_on_missing=False, default=_ABSENT)
    except Exception:  # noqa: BLE001 - composition errors are reported by the edge check
        return
    if value is _ABSENT or isinstance(value, bool) or not (value is None or isinstance(value, int)):
        found = "no such key" if value is _ABSENT else f"it is {value!r}"
        raise ConfigError(f"{FIDELITY}.key", fidelity.key, f"an integer setting of the app's config ({found})")


_ABSENT = object()


def _check_same_search_space(study: optuna.Study, distributions: dict[str, BaseDistribution]) -> None:
    """A resumed study must sample each key as before (Optuna refuses e.g. a changed choice list)."""
    earlier: dict[str, BaseDistribution] = {}
    for trial in study.get_trials(deepcopy=False):
        earlier.update(trial.distributions)
    for key, distribution in distributions.items():
        if key not in earlier:
            continue
        try:
            check_distribution_compatibility(earlier[key], distribution)
        except ValueError:
            raise ConfigError(
                f"hydra.sweeper.params.{bare_key(key)}",
                describe_distribution(distribution),
                f"what study '{study.study_name}' already searches ({describe_distribution(earlier[key])}); "
                "or start another study with hydra.sweeper.study_name=NEW_NAME",
            ) from None
