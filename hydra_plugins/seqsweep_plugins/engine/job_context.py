"""What a sweep hands to each of its jobs, and the job's way to read it, whatever launcher runs it.

The sweeping process builds one `JobContext` per job and the launcher activates it around the
job (in the same process for Hydra's basic launcher, in a Ray worker for ours). Nothing of it
travels through environment variables or `hydra.job.env_set`, so no launch line or
`.hydra/*.yaml` shows a storage URL. An app reads it with:

    from hydra_plugins.seqsweep_plugins import current_job, current_trial

    trial = current_trial()          # the Optuna trial of this job, or None outside an Optuna sweep
    if trial is not None:
        trial.report(value, step=epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()

This module imports neither Optuna nor the app. A trial's handle carries the function that
opens it (a module-level function, pickled by reference), so this module imports no sweeper.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrialHandle:
    """Enough to open the job's Optuna trial in any process that reaches the study's storage."""

    study_name: str
    # None for an in-memory study: only a job in the sweeping process can use it (live_trial).
    storage_url: str | None
    trial_id: int
    # Opens the trial in the job's process (the Optuna sweeper's trial_access.open_trial).
    opener: Callable[[TrialHandle], Any]
    # The sweeper's `pruner` settings (a dict with `_target_`), so should_prune() decides as the study does.
    pruner: dict[str, Any] | None = None
    # Seconds the job's calls to the study wait for a database that cannot be reached.
    store_outage_s: float = 60
    # The optuna.Trial itself when the job runs in the sweeping process; never pickled.
    live_trial: Any = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["live_trial"] = None
        return state


@dataclass
class JobContext:
    """One job of a sweep, as its sweeping process describes it."""

    # The sweep's trial number (Optuna: the trial's number), counted from 0.
    number: int
    # The job's overrides, and those among them whose key varies across the sweep.
    overrides: list[str]
    varying: list[str]
    # What the app's tracker returned at sweep start (e.g. its parent run id); {} without a tracker.
    sweep: dict[str, Any] = field(default_factory=dict)
    # Labels the app may put on its own records: optuna_study, optuna_trial, retry_of, refit, ...
    tags: dict[str, str] = field(default_factory=dict)
    # The metric names the sweep optimizes (the first is the one a pruner reads).
    objectives: list[str] = field(default_factory=list)
    trial: TrialHandle | None = None
    # True for the extra job that retrains the best configuration after the search.
    refit: bool = False
    # With a fidelity (fidelity/levels.py): the level this job runs at (its override is among
    # `overrides`), and the trial's objective values at its earlier levels, {level: value}.
    level: int | None = None
    earlier_levels: dict[int, float] = field(default_factory=dict)
    # Whether the job reports each epoch to its Optuna trial; not when levels are the pruner's steps.
    report_epochs: bool = True
    # Whether the sweep runs the job again should its worker die (the launcher's max_retries > 0):
    # only then is state a rerun could continue from (a training backup) worth its cost.
    rerun_if_lost: bool = False


# The current job lives in this module, which Hydra's plugin scan never executes (engine/ has
# no __init__.py, so pkgutil does not walk it): the scan re-runs the code of every module it
# walks, which would lose it.
_current: JobContext | None = None
_opened_trial: Any = None


@contextmanager
def activated(context: JobContext | None) -> Iterator[None]:
    """Make `context` the current job's while the block runs (launchers call this around a job)."""
    global _current, _opened_trial
    previous = _current, _opened_trial
    _current, _opened_trial = context, None
    try:
        yield
    finally:
        _current, _opened_trial = previous


def current_job() -> JobContext | None:
    """The running job's context, or None outside a sweep of ours."""
    return _current


def current_trial() -> Any:
    """The running job's `optuna.Trial`, or None when the job is not part of an Optuna sweep."""
    global _opened_trial
    if _current is None or _current.trial is None:
        return None
    if _opened_trial is None:
        handle = _current.trial
        if handle.live_trial is not None:
            _opened_trial = handle.live_trial
        else:
            _opened_trial = handle.opener(handle)
    return _opened_trial
