"""What a job's end means for its trial: its state, its objective values and why it failed.

A job may return a float, a list or tuple of floats (one per direction), or a dict of metrics
(the sweeper's `objectives` name the values to read). It ends PRUNED when it raised Optuna's
`TrialPruned` (or a subclass), FAIL when it raised anything else or returned something that
cannot be read, and LOST when its worker died before it could return (an infrastructure
failure: not counted, run again). An exception whose class has `infrastructure = True` (a
broken store, a full disk) is an infrastructure failure too.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

from hydra.core.utils import JobReturn, JobStatus

from hydra_plugins.seqsweep_plugins.engine.hydra_private import job_error


class TrialState(enum.Enum):
    """How a trial ended. COMPLETE, PRUNED and FAIL count toward a budget; LOST does not (it runs again)."""

    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"
    LOST = "LOST"

    @property
    def counted(self) -> bool:
        return self is not TrialState.LOST


@dataclass
class Outcome:
    state: TrialState
    values: list[float] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # True for failures outside the trial itself: not counted toward budgets, run again.
    infrastructure: bool = False
    # True when every trial would fail the same way (the objectives name no returned metric):
    # the sweep stops instead of training the rest for nothing.
    settings_error: bool = False
    # With a fidelity: the level the job ran at, and the level its trial goes on to (None: the
    # trial ended with this job; set by the source, which decides whether a trial climbs on).
    level: int | None = None
    next_level: int | None = None


def lost(reason: str) -> Outcome:
    return Outcome(TrialState.LOST, error=reason, infrastructure=True)


def read_outcome(job_return: JobReturn | None, lost_reason: str | None, objectives: list[str], need_values: bool) -> Outcome:
    """The trial's outcome; `need_values`: a trial without readable objective values is a FAIL."""
    if lost_reason is not None:
        return lost(lost_reason)
    if job_return is None or job_return.status != JobStatus.COMPLETED:
        error = job_error(job_return)
        if any(cls.__name__ == "TrialPruned" for cls in type(error).__mro__):
            return Outcome(TrialState.PRUNED, error=str(error) or None)
        reason = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else "the job did not complete"
        return Outcome(TrialState.FAIL, error=reason, infrastructure=bool(getattr(error, "infrastructure", False)))
    return _from_return_value(job_return.return_value, objectives, need_values)


def failed_return(overrides: list[str], error: BaseException) -> JobReturn:
    """A JobReturn for a job that failed with `error` (through Hydra's public setter)."""
    job_return = JobReturn(overrides=overrides, status=JobStatus.FAILED)
    job_return.return_value = error
    return job_return


def _from_return_value(value: Any, objectives: list[str], need_values: bool) -> Outcome:
    metrics: dict[str, Any] = {}
    if _is_number(value):
        values = [float(value)]
    elif isinstance(value, (list, tuple)) and value and all(_is_number(v) for v in value):
        values = [float(v) for v in value]
    elif isinstance(value, dict):
        metrics = dict(value)
        missing = [name for name in objectives if not _is_number(metrics.get(name))]
        if missing and need_values:
            return Outcome(
                TrialState.FAIL,
                metrics=metrics,
                settings_error=True,
                error=f"hydra.sweeper.objectives names {', '.join(missing)}, which the trial did not return; it returned: {', '.join(map(str, metrics)) or 'nothing'}",
            )
        values = None if missing else [float(metrics[name]) for name in objectives]
    elif value is None and not need_values:
        return Outcome(TrialState.COMPLETE)
    else:
        return Outcome(
            TrialState.FAIL,
            error=f"the job returned {value!r:.200}; return a float, a list of floats (one per direction) or a dict of metrics",
        )
    return _checked_values(values, metrics, objectives, need_values)


def _checked_values(values: list[float] | None, metrics: dict[str, Any], objectives: list[str], need_values: bool) -> Outcome:
    if values is not None:
        if need_values and len(values) != len(objectives):
            return Outcome(
                TrialState.FAIL,
                metrics=metrics,
                settings_error=True,
                error=f"the job returned {len(values)} value(s) for {len(objectives)} objective(s) ({', '.join(objectives)}); give one direction per value",
            )
        if not all(math.isfinite(v) for v in values):
            return Outcome(TrialState.FAIL, metrics=metrics, error=f"objective value(s) not finite: {values}")
    return Outcome(TrialState.COMPLETE, values=values, metrics=metrics)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)
