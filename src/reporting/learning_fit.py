"""Where each learning curve leads: its power-law fit (the plugin's `fidelity.power_law`) and the
test metric it predicts at 10x the largest training set, with a 95% interval and a poor-fit flag.

The power law describes an error that falls towards 0: for an accuracy-like metric (a fraction,
higher is better) it is fitted to 1 - metric, for a lower-is-better one (mse, loss) to the metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hydra_plugins.seqsweep_plugins.fidelity.power_law import PowerLaw, fit_power_law
from src.reporting.metrics import kind_of
from src.reporting.plots import N_TRAIN, curve_lines, line_members

EXTRAPOLATION = 10  # predict at this many times the largest training set of the line
LEVEL = 0.95


@dataclass(frozen=True)
class LineFit:
    """One learning-curve line's fit, or why it has none (`fit` None, `reason` set)."""

    name: str  # the line's legend name (model, plus what tells lines of one model apart)
    model: str
    fit: PowerLaw | None
    reason: str | None
    largest: float  # the line's largest data.n_train

    @property
    def target_size(self) -> float:
        """Where the fit predicts: EXTRAPOLATION times the line's largest data.n_train."""
        return EXTRAPOLATION * self.largest

    def metric_at(self, sizes: np.ndarray, metric: str) -> np.ndarray:
        """The fitted curve in the metric's own terms at `sizes`."""
        return _from_error(metric, self.fit.scale * np.asarray(sizes, dtype=float) ** -self.fit.exponent)

    def prediction(self, metric: str) -> tuple[float, float, float, float]:
        """(size, metric, low, high) at EXTRAPOLATION times the largest size; low <= high in the metric's terms."""
        size = self.target_size
        error, low, high = self.fit.predict(size, LEVEL)
        ends = sorted(_from_error(metric, np.array([low, high])))
        return size, float(_from_error(metric, np.array([error]))[0]), ends[0], ends[1]


def fit_lines(summary: pd.DataFrame, trials: pd.DataFrame, metric: str) -> list[LineFit]:
    """A fit per learning-curve line of the test metric (the lines of learning_curve.png), every
    completed trial one point."""
    test = f"metrics.test_{metric}"
    keys, lines = curve_lines(summary)
    fits = []
    for label, name, rows in lines:
        points = line_members(trials, keys, label, test)
        fit, reason = _fit(points[N_TRAIN].to_numpy(dtype=float), points[test].to_numpy(dtype=float), metric)
        fits.append(LineFit(name, str(rows["model"].iloc[0]), fit, reason, float(rows[N_TRAIN].max())))
    return fits


def _fit(sizes: np.ndarray, values: np.ndarray, metric: str) -> tuple[PowerLaw | None, str | None]:
    kind = kind_of(metric)
    if kind.higher_is_better is None or (kind.higher_is_better and kind.bounds[1] != 1):
        return None, f"no power law for {metric}: not an error, nor a fraction whose complement is one"
    if len(np.unique(sizes)) < 2:
        return None, "one training-set size: no curve to fit"
    try:
        return fit_power_law(sizes, _to_error(metric, values)), None
    except ValueError as error:
        return None, f"no power law: {error}"


def _to_error(metric: str, values: np.ndarray) -> np.ndarray:
    return 1 - values if kind_of(metric).higher_is_better else values


def _from_error(metric: str, errors: np.ndarray) -> np.ndarray:
    return 1 - errors if kind_of(metric).higher_is_better else errors


def describe(fit: LineFit, metric: str) -> dict[str, str]:
    """The fit as the cells of report.html's fit table."""
    if fit.fit is None:
        return {"line": fit.name, "fit": fit.reason or "", "exponent b": "", "R²": "", "prediction": ""}
    size, value, low, high = fit.prediction(metric)
    interval = f"[{low:.4g}, {high:.4g}]" if not math.isnan(low) else "(no interval: one trial per size)"
    return {
        "line": fit.name,
        "fit": f"poor fit: {fit.fit.poor_fit}" if fit.fit.poor_fit else "good fit",
        "exponent b": f"{fit.fit.exponent:.3g}",
        "R²": f"{fit.fit.r_squared:.3f}",
        "prediction": f"test_{metric} at n={size:,.0f}: {value:.4g} {interval}",
    }
