"""The learning-curve stopping rule (`hydra.sweeper.fidelity.curve_stop: true`).

From a trial's values at the levels measured so far, a power law (power_law.py) predicts its
value at the top level with a 95% interval; the trial stops when even the optimistic end of
that interval is worse than the best value already completed at the top level. The power law
models an error that falls toward 0: a minimized objective is taken as that error itself (a
loss), a maximized one as 1 - value (an accuracy); a maximized value above 1 or a minimized
one at or below 0 has no such reading, and the rule then never stops the trial.

A fit needs 3 levels before it has an interval (2 points fix a line exactly), so the rule
first speaks after the third level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from hydra_plugins.seqsweep_plugins.fidelity.power_law import fit_power_law

LEVEL = 0.95


def optimistic_top_value(values: Mapping[int, float], top: int, direction: str) -> float | None:
    """The best end of the 95% interval of the value predicted at `top`; None without an interval."""
    if len(values) < 3:
        return None
    maximize = direction == "maximize"
    errors = [1.0 - v if maximize else v for v in values.values()]
    try:
        law = fit_power_law(list(values), errors)
    except ValueError:  # an error of 0 or below: no logarithm, no power law
        return None
    _, low, _ = law.predict(top, LEVEL)
    if math.isnan(low):
        return None
    return 1.0 - low if maximize else low


def curve_stop_reason(values: Mapping[int, float], top: int, best_at_top: float | None, direction: str) -> str | None:
    """Why the trial should stop (one phrase), or None to go on."""
    if best_at_top is None:
        return None
    optimistic = optimistic_top_value(values, top, direction)
    if optimistic is None:
        return None
    worse = optimistic < best_at_top if direction == "maximize" else optimistic > best_at_top
    if not worse:
        return None
    return f"its learning curve reaches at best {optimistic:.4g} at level {top}, short of the best {best_at_top:.4g}"
