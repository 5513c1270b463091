"""The app's two hooks into the sweepers, both named in its config: a point check and a tracker.

    hydra:
      sweeper:
        point_check: my_app.checks.check_point       # f(cfg) -> None; raises to refuse the point
        tracker: {_target_: my_app.tracking.Tracker}  # a SweepTracker, called in the sweeping process

The sweepers work without either. The point check sees each composed point (without its
`hydra` node) before any trial runs; whatever it raises refuses the point with that message.
A tracker may refuse to start (raise SweepConfigError from `on_sweep_start`, e.g. an unfinished
sweep of the same command exists); that is one line and exit code 2 like any bad setting.
The tracker is called in the sweeping process only (never in a worker): at sweep start after
every check and before the first trial, when a trial is submitted, ends or is lost, and at the
end. What `on_sweep_start` returns reaches every job as `current_job().sweep`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hydra.utils import get_method, instantiate
from omegaconf import DictConfig

from hydra_plugins.seqsweep_plugins._console import SweepConfigError
from hydra_plugins.seqsweep_plugins._job import JobContext


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
    """How one trial ended. `state`: COMPLETE, PRUNED, FAIL (the trial's own failure) or LOST."""

    job: JobContext
    state: str
    values: list[float] | None
    metrics: dict[str, Any]
    error: str | None
    seconds: float
    node: str | None = None


@dataclass
class SweepEnd:
    """How the sweep ended. `status`: FINISHED, FAILED (stopped by a failure rule) or KILLED (a signal)."""

    status: str
    counts: dict[str, int]
    best: list[dict[str, Any]]  # the best trial, or the Pareto front: trial, objective values, params
    objectives: list[str]
    directions: list[str]
    seconds: float
    message: str | None = None


class SweepTracker:
    """Base class of an app's tracker: every hook does nothing unless overridden."""

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

    def on_trial_lost(self, job: JobContext, reason: str) -> None:
        pass

    def on_sweep_end(self, end: SweepEnd) -> None:
        pass


def load_point_check(name: str | None) -> Callable[[DictConfig], Any] | None:
    if not name:
        return None
    try:
        return get_method(name)
    except Exception as error:  # noqa: BLE001 - any import problem is the same config mistake
        raise SweepConfigError(
            "hydra.sweeper.point_check", name, f"a function `module.name` that can be imported ({error})"
        ) from None


def load_tracker(settings: Any) -> SweepTracker:
    if not settings:
        return SweepTracker()
    try:
        tracker = instantiate(settings)
    except Exception as error:  # noqa: BLE001 - reported as one line naming the key
        cause = error.__cause__ or error
        raise SweepConfigError(
            "hydra.sweeper.tracker", settings.get("_target_"), f"a class that can be built ({cause})"
        ) from None
    # Checked by its methods, not isinstance: Hydra's plugin scan executes this module a second
    # time, so the SweepTracker an app imported may be another class object than the one here.
    if not all(callable(getattr(tracker, hook, None)) for hook in vars(SweepTracker) if hook.startswith("on_")):
        raise SweepConfigError(
            "hydra.sweeper.tracker",
            settings.get("_target_"),
            "a subclass of hydra_plugins.seqsweep_plugins.hooks.SweepTracker",
        )
    return tracker
