"""The Optuna side of a fidelity (fidelity/levels.py): which pruner judges the levels, and what a
trial's end at one level decides.

Each level's objective is reported to the trial with the level as the step, so Optuna's own
successive-halving and Hyperband pruners judge levels as they judge epochs elsewhere: their
resources are the levels (min_resource = min, reduction_factor = the fidelity's, Hyperband's
max_resource = max), which the sweeper fills in and refuses when set otherwise. Both pruners
are asynchronous (a trial is compared with the trials that reached its rung so far), so no
slot waits for a rung to fill. Per-epoch reports are not made in this mode: the steps are levels.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError
from hydra_plugins.seqsweep_plugins.fidelity.curve_stop import curve_stop_reason
from hydra_plugins.seqsweep_plugins.fidelity.levels import SETTING, Fidelity

# The pruners whose resources are levels, and the keys the fidelity decides for each.
LEVEL_PRUNERS = {
    "optuna.pruners.SuccessiveHalvingPruner": {"min_resource": "min", "reduction_factor": "reduction_factor"},
    "optuna.pruners.HyperbandPruner": {
        "min_resource": "min",
        "max_resource": "max",
        "reduction_factor": "reduction_factor",
    },
    "optuna.pruners.NopPruner": {},
}


def level_pruner_settings(pruner: dict[str, Any] | None, fidelity: Fidelity) -> dict[str, Any] | None:
    """The pruner settings with the fidelity's resources filled in; ConfigError for another pruner,
    or for resources set to something else."""
    if not pruner:
        return pruner
    target = str(pruner.get("_target_"))
    if target not in LEVEL_PRUNERS:
        allowed = ", ".join(name for name in LEVEL_PRUNERS)
        raise ConfigError(
            "hydra.sweeper.pruner._target_",
            target,
            f"with {SETTING}.key set, null or a pruner whose resources are the levels: {allowed} "
            "(other pruners read per-epoch steps, which this mode does not report)",
        )
    filled = dict(pruner)
    for key, field_name in LEVEL_PRUNERS[target].items():
        wanted = getattr(fidelity, field_name)
        given = pruner.get(key, "auto")
        if given not in ("auto", None, wanted):
            raise ConfigError(
                f"hydra.sweeper.pruner.{key}",
                given,
                f"{wanted} ({SETTING}.{field_name}), or leave it out: the fidelity sets it",
            )
        filled[key] = wanted
    return filled


class LevelVerdict(enum.Enum):
    CLIMB = "climb"  # run the next level
    TOP = "top"  # the top level is done: the trial is complete
    STOP = "stop"  # stopped at this level: the trial is pruned


@dataclass(frozen=True)
class LevelDecision:
    verdict: LevelVerdict
    next_level: int | None = None
    reason: str | None = None


def decide_level(
    fidelity: Fidelity,
    level: int,
    values: Mapping[int, float],
    pruner_says_stop: bool,
    pruner_name: str,
    best_at_top: float | None,
    direction: str,
) -> LevelDecision:
    """What the end of `level` decides for a trial whose values so far are `values` (this level's included)."""
    if level >= fidelity.max:
        return LevelDecision(LevelVerdict.TOP)
    if pruner_says_stop:
        return LevelDecision(LevelVerdict.STOP, reason=f"stopped at level {level} by {pruner_name}")
    if fidelity.curve_stop:
        reason = curve_stop_reason(values, fidelity.max, best_at_top, direction)
        if reason is not None:
            return LevelDecision(LevelVerdict.STOP, reason=f"stopped at level {level}: {reason}")
    return LevelDecision(LevelVerdict.CLIMB, next_level=fidelity.next_level(level))
