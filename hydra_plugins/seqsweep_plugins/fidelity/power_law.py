"""How the error falls with more data: a power law fitted to a learning curve, and where it leads.

    error(n) = scale * n ** -exponent

fitted by least squares of log(error) on log(n) over every trial (one point per seed and size).
A straight line on log-log axes is the usual empirical shape of a learning curve's middle part
(Hestness et al. 2017, "Deep learning scaling is predictable, empirically"); the line in log
space keeps the fit and its interval to ordinary linear regression. Its interval at a size is the
t interval of the line's value there, se = s * sqrt(1/N + (x - mean x)^2 / Sxx) with N - 2
degrees of freedom, sent back through exp: an interval for the typical (geometric-mean) error at
that size, were the power law true. Past the largest size measured that is an extrapolation, and
the interval covers the uncertainty of the fitted line, not a wrong shape: `poor_fit` says when
the shape itself is in doubt (the rule is on `PowerLaw`).

numpy only (a later stopping rule of the sweepers reuses it; the plugin installs without scipy):
the t quantile is computed here from the closed form of Student's t distribution for whole
degrees of freedom (Abramowitz & Stegun 26.7.3-4), which is exact, and bisection.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Below this R^2 of the per-size means on log-log axes, the points do not lie on a line.
MIN_R_SQUARED = 0.9
MIN_SIZES = 3


@dataclass(frozen=True)
class PowerLaw:
    """A fitted `error(n) = scale * n ** -exponent`.

    r_squared: of the mean log error at each size against the line; seed noise, which no curve
        can explain, is averaged out first, so this says how straight the curve is.
    poor_fit: why the extrapolation should not be trusted, or None. The rule, first match:
        fewer than 3 sizes (any line passes through 2 points, so nothing tests the shape);
        the error does not fall with more data (exponent <= 0); R^2 below 0.9.
    """

    scale: float
    exponent: float
    r_squared: float
    sizes: int
    points: int
    poor_fit: str | None
    # The regression in log space, for `predict`'s interval.
    log_size_mean: float
    log_size_spread: float  # Sxx: sum of squared deviations of log(n)
    residual_sd: float  # s, with N - 2 degrees of freedom

    def predict(self, size: float, level: float = 0.95) -> tuple[float, float, float]:
        """(error, low, high) at `size`; the interval is NaN when the fit has no residual degrees of freedom."""
        x = math.log(size)
        centre = math.log(self.scale) - self.exponent * x
        degrees = self.points - 2
        if degrees < 1:
            return math.exp(centre), math.nan, math.nan
        se = self.residual_sd * math.sqrt(1 / self.points + (x - self.log_size_mean) ** 2 / self.log_size_spread)
        half = t_quantile((1 + level) / 2, degrees) * se
        return math.exp(centre), math.exp(centre - half), math.exp(centre + half)


def fit_power_law(sizes: Sequence[float], errors: Sequence[float]) -> PowerLaw:
    """Fit `errors[i] ~ scale * sizes[i] ** -exponent`, one pair per trial (several seeds per size welcome).

    Raises ValueError for fewer than 2 distinct sizes (no line), or an error or size that is not
    a positive finite number (no logarithm): an error of 0 is a perfect score, which no power law reaches.
    """
    n = np.asarray(sizes, dtype=float)
    error = np.asarray(errors, dtype=float)
    if n.shape != error.shape or n.ndim != 1:
        raise ValueError(f"sizes and errors must be two lists of the same length, got {n.shape} and {error.shape}")
    for name, values in (("size", n), ("error", error)):
        bad = values[~(np.isfinite(values) & (values > 0))]
        if bad.size:
            raise ValueError(f"{name}={bad[0]!r} is not allowed: a positive finite number (its logarithm is fitted)")
    distinct = np.unique(n)
    if distinct.size < 2:
        raise ValueError(f"a power law needs 2 or more distinct sizes, got {distinct.size}")
    x, y = np.log(n), np.log(error)
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (intercept + slope * x)
    degrees = x.size - 2
    residual_sd = float(np.sqrt(residuals @ residuals / degrees)) if degrees > 0 else math.nan
    r_squared = _r_squared_of_means(x, y, distinct, slope, intercept)
    exponent = float(-slope)
    return PowerLaw(
        scale=float(math.exp(intercept)),
        exponent=exponent,
        r_squared=r_squared,
        sizes=int(distinct.size),
        points=int(x.size),
        poor_fit=_poor_fit(int(distinct.size), exponent, r_squared),
        log_size_mean=float(x.mean()),
        log_size_spread=float(((x - x.mean()) ** 2).sum()),
        residual_sd=residual_sd,
    )


def _r_squared_of_means(x: np.ndarray, y: np.ndarray, distinct: np.ndarray, slope: float, intercept: float) -> float:
    log_sizes = np.log(distinct)
    means = np.array([y[x == size].mean() for size in log_sizes])
    spread = float(((means - means.mean()) ** 2).sum())
    unexplained = float(((means - (intercept + slope * log_sizes)) ** 2).sum())
    # Equal means at every size: a flat line explains them all.
    return 1.0 if spread == 0 else 1 - unexplained / spread


def _poor_fit(sizes: int, exponent: float, r_squared: float) -> str | None:
    if sizes < MIN_SIZES:
        return f"{sizes} training-set sizes: a line passes through any {sizes} points, so the shape is untested (need {MIN_SIZES}+)"
    if exponent <= 0:
        return "the error does not fall as the training set grows"
    if r_squared < MIN_R_SQUARED:
        return f"R² {r_squared:.2f} < {MIN_R_SQUARED}: the curve is not a straight line on log-log axes"
    return None


def t_quantile(probability: float, degrees: int) -> float:
    """The `probability` quantile of Student's t with whole `degrees` of freedom (scipy's `stats.t.ppf`)."""
    if not 0 < probability < 1 or degrees < 1:
        raise ValueError(f"t_quantile({probability}, {degrees}): probability in (0, 1) and degrees >= 1")
    if probability < 0.5:
        return -t_quantile(1 - probability, degrees)
    central = 2 * probability - 1  # P(|T| <= t)
    low, high = 0.0, 1.0
    while _central_probability(high, degrees) < central:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if _central_probability(middle, degrees) < central else (low, middle)
        if high - low < 1e-12 * high:
            break
    return (low + high) / 2


def _central_probability(t: float, degrees: int) -> float:
    """P(|T| <= t) for Student's t with whole degrees of freedom: the finite sums of A&S 26.7.3 (even) and 26.7.4 (odd)."""
    theta = math.atan(t / math.sqrt(degrees))
    cos2 = math.cos(theta) ** 2
    term = total = 1.0
    if degrees % 2 == 0:
        for k in range(2, degrees, 2):
            term *= cos2 * (k - 1) / k
            total += term
        return math.sin(theta) * total
    if degrees == 1:
        return 2 * theta / math.pi
    for k in range(3, degrees, 2):
        term *= cos2 * (k - 1) / k
        total += term
    return 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)
