"""The power-law fit of a learning curve: exact on exact data, honest intervals on noisy data, flags what it cannot judge."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hydra_plugins.seqsweep_plugins.fidelity.power_law import fit_power_law, t_quantile

SIZES = [100, 200, 400, 800]


@pytest.mark.parametrize(("scale", "exponent"), [(2.0, 0.5), (0.8, 0.12), (30.0, 1.3)])
def test_recovers_known_exponents_on_exact_data(scale, exponent):
    sizes = SIZES * 3  # three seeds per size, all alike
    fit = fit_power_law(sizes, [scale * n**-exponent for n in sizes])
    assert fit.exponent == pytest.approx(exponent, rel=1e-9) and fit.scale == pytest.approx(scale, rel=1e-9)
    assert fit.r_squared == pytest.approx(1.0) and fit.poor_fit is None
    assert (fit.sizes, fit.points) == (4, 12)
    error, low, high = fit.predict(8000)
    assert error == pytest.approx(scale * 8000**-exponent, rel=1e-9)
    assert low == pytest.approx(error, rel=1e-6) and high == pytest.approx(error, rel=1e-6)


def test_the_interval_covers_the_truth_at_ten_times_the_largest_size_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    sizes = np.repeat(SIZES, 3)
    truth = 0.5 * 8000**-0.3  # the typical (geometric-mean) error the interval is for
    covered = []
    for _ in range(1000):
        noisy = 0.5 * sizes**-0.3 * np.exp(rng.normal(0, 0.1, sizes.size))
        _, low, high = fit_power_law(sizes, noisy).predict(8000)
        covered.append(low <= truth <= high)
    # 1000 draws: the share of covering intervals is 0.95 +- 0.007 (one sd).
    assert 0.93 <= np.mean(covered) <= 0.97


def test_an_interval_widens_with_noise_and_with_distance():
    rng = np.random.default_rng(1)
    sizes = np.repeat(SIZES, 3)
    noisy = 0.5 * sizes**-0.3 * np.exp(rng.normal(0, 0.05, sizes.size))
    fit = fit_power_law(sizes, noisy)
    # Relative width (high / low): the interval is multiplicative, as the fit is in log space.
    width = {size: fit.predict(size)[2] / fit.predict(size)[1] for size in (800, 8000, 80000)}
    assert 1 < width[800] < width[8000] < width[80000]
    louder = fit_power_law(sizes, 0.5 * sizes**-0.3 * np.exp(rng.normal(0, 0.2, sizes.size)))
    assert louder.predict(8000)[2] / louder.predict(8000)[1] > width[8000]


def test_fewer_than_three_sizes_are_flagged_and_fewer_than_two_refused():
    two = fit_power_law([100, 100, 200, 200], [0.3, 0.31, 0.25, 0.26])
    assert two.poor_fit is not None and two.poor_fit.startswith("2 training-set sizes")
    assert math.isfinite(two.predict(2000)[1]), "two sizes with seeds still give an interval, flagged"
    one_each = fit_power_law([100, 200], [0.3, 0.25])
    assert math.isnan(one_each.predict(2000)[1]), "no residual degrees of freedom: no interval"
    with pytest.raises(ValueError, match="2 or more distinct sizes, got 1"):
        fit_power_law([100, 100, 100], [0.3, 0.31, 0.29])


def test_a_curve_that_bends_or_rises_is_a_poor_fit():
    # Falls, then flattens at a floor: not a line on log-log axes.
    bent = fit_power_law(SIZES * 2, [0.05 + 10 * n**-1.5 for n in SIZES] * 2)
    assert bent.poor_fit is not None and bent.poor_fit.startswith("R²") and bent.r_squared < 0.9
    rising = fit_power_law(SIZES, [0.2, 0.22, 0.25, 0.3])
    assert rising.poor_fit == "the error does not fall as the training set grows"


@pytest.mark.parametrize("errors", [[0.3, 0.0, 0.2], [0.3, -0.1, 0.2], [0.3, float("nan"), 0.2]])
def test_an_error_without_a_logarithm_is_refused_in_one_line(errors):
    with pytest.raises(ValueError, match=r"^error=.* is not allowed: a positive finite number"):
        fit_power_law([100, 200, 400], errors)


@pytest.mark.parametrize(
    ("probability", "degrees", "expected"),
    # Student's t table (scipy.stats.t.ppf to 6 digits).
    [(0.975, 1, 12.706205), (0.975, 2, 4.302653), (0.975, 4, 2.776445), (0.975, 10, 2.228139), (0.995, 30, 2.749996)],
)
def test_t_quantiles_match_the_table(probability, degrees, expected):
    assert t_quantile(probability, degrees) == pytest.approx(expected, abs=1e-6)
    assert t_quantile(1 - probability, degrees) == pytest.approx(-expected, abs=1e-6)
