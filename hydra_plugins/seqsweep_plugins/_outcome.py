"""What a job's end means for its trial: its state, its objective values and why it failed.

A job may return a float, a list or tuple of floats (one per direction), or a dict of metrics
(the sweeper's `objectives` name the values to read). It ends PRUNED when it raised Optuna's
`TrialPruned` (or a subclass), FAIL when it raised anything else or returned something that
cannot be read, and LOST when its worker died before it could return (an infrastructure
failure: not counted, run again). An exception whose class has `infrastructure = True` (a
broken store, a full disk) is an infrastructure failure too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

from hydra.core.utils import JobStatus

from hydra_plugins.seqsweep_plugins.executor import JobEnd

COMPLETE, PRUNED, FAIL, LOST = "COMPLETE", "PRUNED", "FAIL", "LOST"


@dataclass
class Outcome:
    state: str
    values: list[float] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # True for failures outside the trial itself: not counted toward budgets, run again.
    infrastructure: bool = False
    # True when every trial would fail the same way (the objectives name no returned metric):
    # the sweep stops instead of training the rest for nothing.
    settings_error: bool = False


def read_outcome(end: JobEnd, objectives: list[str], need_values: bool) -> Outcome:
    """The trial's outcome; `need_values`: a trial without readable objective values is a FAIL."""
    if end.lost is not None:
        return Outcome(LOST, error=end.lost, infrastructure=True)
    job_return = end.job_return
    if job_return is None or job_return.status != JobStatus.COMPLETED:
        # JobReturn.return_value re-raises a failed job's exception; the exception itself is in _return_value.
        error = getattr(job_return, "_return_value", None)
        if any(cls.__name__ == "TrialPruned" for cls in type(error).__mro__):
            return Outcome(PRUNED, error=str(error) or None)
        reason = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else "the job did not complete"
        return Outcome(FAIL, error=reason, infrastructure=bool(getattr(error, "infrastructure", False)))
    return _from_return_value(job_return.return_value, objectives, need_values)


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
                FAIL,
                metrics=metrics,
                settings_error=True,
                error=f"hydra.sweeper.objectives names {', '.join(missing)}, which the trial did not return; it returned: {', '.join(map(str, metrics)) or 'nothing'}",
            )
        values = None if missing else [float(metrics[name]) for name in objectives]
    elif value is None and not need_values:
        return Outcome(COMPLETE)
    else:
        return Outcome(
            FAIL,
            error=f"the job returned {value!r:.200}; return a float, a list of floats (one per direction) or a dict of metrics",
        )
    if values is not None:
        if need_values and len(values) != len(objectives):
            return Outcome(
                FAIL,
                metrics=metrics,
                settings_error=True,
                error=f"the job returned {len(values)} value(s) for {len(objectives)} objective(s) ({', '.join(objectives)}); give one direction per value",
            )
        if not all(math.isfinite(v) for v in values):
            return Outcome(FAIL, metrics=metrics, error=f"objective value(s) not finite: {values}")
    return Outcome(COMPLETE, values=values, metrics=metrics)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)
