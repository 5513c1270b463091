"""The tracker: the app's records of a sweep, called by the sweepers in the sweeping process.

    hydra:
      sweeper:
        tracker: {_target_: my_app.tracking.Tracker}  # a SweepTracker subclass

The sweepers work without one. A tracker may refuse to start (raise ConfigError or
SweepRefused from `on_sweep_start`, e.g. an unfinished sweep of the same command exists); that
is one line and exit code 2 like any bad setting. It is called in the sweeping process only
(never in a worker): at sweep start after every check and before the first trial, when a trial
is submitted, ends or is lost, and at the end. What `on_sweep_start` returns reaches every job
as `current_job().sweep`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError
from hydra_plugins.seqsweep_plugins.engine.job_context import JobContext
from hydra_plugins.seqsweep_plugins.engine.lifecycle import SweepStatus
from hydra_plugins.seqsweep_plugins.engine.outcome import TrialState


@dataclass
class SweepStart:
    """What a sweep is about to run."""

    sweeper: str  # "grid" or "optuna"
    label: str  # the preset's or study's name
    config: DictConfig  # the sweep's master config, `hydra` node included
    sweep_dir: str
    total: int | None  # trials this process plans to run (None: open-ended)
    varying: list[str]  # keys whose value differs between trials
    fixed: list[str]  # overrides every trial shares
    objectives: list[str]
    directions: list[str]
    # Optuna only: study name, masked storage URL; and trials of earlier runs found in the study.
    study: dict[str, str] = field(default_factory=dict)
    resumed_trials: int = 0
    # Grid only: the same for the same command (label and points), and what `hydra.sweeper.resume` asked.
    sweep_key: str = ""
    resume: str | None = None


@dataclass
class TrialEnd:
    """How one trial ended by itself: COMPLETE, PRUNED or FAIL (lost trials go to `on_trial_lost`)."""

    job: JobContext
    state: TrialState
    values: list[float] | None
    metrics: dict[str, Any]
    error: str | None
    seconds: float
    node: str | None = None


@dataclass
class SweepEnd:
    """How the sweep ended: FINISHED, FAILED (stopped by a failure rule) or KILLED (a signal)."""

    status: SweepStatus
    counts: dict[TrialState, int]
    # The best trial, or the Pareto front: trial, objective values, what they were measured on
    # (hydra.sweeper.best_among), params; empty when none qualifies, and `no_best` says why.
    best: list[dict[str, Any]]
    objectives: list[str]
    directions: list[str]
    seconds: float
    message: str | None = None
    no_best: str | None = None


class SweepTracker:
    """Base class of an app's tracker: every hook does nothing unless overridden."""

    # Whether it keeps records that `hydra.sweeper.resume` can continue from (`resume_state`).
    keeps_records: bool = False

    def on_sweep_start(self, sweep: SweepStart) -> dict[str, Any]:
        return {}

    def resume_state(self) -> tuple[list[list[str]], int]:
        """After on_sweep_start of a resumed grid: the points that already have a finished trial,
        and the first trial number free for the rest (so every trial keeps a distinct number)."""
        return [], 0

    def on_trial_submitted(self, job: JobContext) -> None:
        pass

    def on_trial_end(self, trial: TrialEnd) -> None:
        pass

    def on_trial_lost(self, job: JobContext, reason: str, interrupted: bool) -> None:
        """The trial's worker died (`interrupted`: False), or a signal stopped the sweep while it ran (True)."""

    def on_sweep_end(self, end: SweepEnd) -> None:
        pass


def load_tracker(settings: Any) -> SweepTracker:
    if not settings:
        return SweepTracker()
    try:
        tracker = instantiate(settings)
    except Exception as error:  # noqa: BLE001 - reported as one line naming the key
        cause = error.__cause__ or error
        raise ConfigError("hydra.sweeper.tracker", settings.get("_target_"), f"a class that can be built ({cause})") from None
    if not isinstance(tracker, SweepTracker):
        raise ConfigError(
            "hydra.sweeper.tracker", settings.get("_target_"), "a subclass of hydra_plugins.seqsweep_plugins.SweepTracker"
        )
    return tracker
