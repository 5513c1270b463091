"""compare.csv's numbers equal a direct computation, and its flags mark exactly the real differences.

The trials are constructed: lstm beats gru by 0.05 at 100 reviews and ties at 200 (up to seed
noise that pairing cancels only in part), and 200 reviews add 0.10 to both models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from src.reporting.compare import paired_comparisons

SEEDS = [1, 2, 3, 4, 5]
# Per seed: noise shared by both models of a seed, and a small noise of each trial.
SHARED = dict(zip(SEEDS, [0.03, -0.02, 0.01, -0.04, 0.02]))
OWN = {
    ("lstm", 100): [0.004, -0.003, 0.002, 0.001, -0.004],
    ("gru", 100): [-0.002, 0.003, -0.001, 0.002, 0.000],
    ("lstm", 200): [0.003, -0.004, 0.001, 0.002, -0.002],
    ("gru", 200): [-0.001, 0.002, 0.003, -0.003, 0.001],
}


def accuracy(model: str, n_train: int, index: int, seed: int) -> float:
    lead = 0.05 if (model, n_train) == ("lstm", 100) else 0.0
    more_data = 0.10 if n_train == 200 else 0.0
    return 0.6 + lead + more_data + SHARED[seed] + OWN[(model, n_train)][index]


@pytest.fixture()
def trials() -> pd.DataFrame:
    rows = [
        {
            "status": "FINISHED",
            "pruned_at_epoch": np.nan,
            "model": model,
            "params.model.name": model,
            "params.data.n_train": n_train,
            "params.trainer.seed": seed,
            "metrics.test_acc": accuracy(model, n_train, index, seed),
        }
        for model in ("lstm", "gru")
        for n_train in (100, 200)
        for index, seed in enumerate(SEEDS)
    ]
    return pd.DataFrame(rows)


def direct(a: list[float], b: list[float], m: int) -> tuple[float, float, float]:
    d = np.array(a) - np.array(b)
    half = stats.t.ppf(1 - 0.05 / (2 * m), len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return d.mean(), d.mean() - half, d.mean() + half


def values(model: str, n_train: int) -> list[float]:
    return [accuracy(model, n_train, i, seed) for i, seed in enumerate(SEEDS)]


def test_differences_and_bonferroni_intervals_equal_a_direct_computation(trials):
    table = paired_comparisons(trials, "test_acc")
    # model at each n_train (2) and n_train within each model (2): m = 4 comparisons.
    assert len(table) == 4 and (table["level"] == 1 - 0.05 / 4).all() and (table["n"] == 5).all()
    row = table[(table["setting"] == "model") & (table["data.n_train"] == 100)].iloc[0]
    assert (row["a"], row["b"]) == ("gru", "lstm")
    mean, low, high = direct(values("gru", 100), values("lstm", 100), m=4)
    assert row["mean_diff"] == pytest.approx(mean) and row["ci_low"] == pytest.approx(low)
    assert row["ci_high"] == pytest.approx(high)
    row = table[(table["setting"] == "data.n_train") & (table["model"] == "gru")].iloc[0]
    mean, low, high = direct(values("gru", 100), values("gru", 200), m=4)
    assert (row["a"], row["b"]) == (100, 200) and row["mean_diff"] == pytest.approx(mean)
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))


def test_exactly_the_constructed_differences_are_beyond_seed_noise(trials):
    table = paired_comparisons(trials, "test_acc")
    where = {"model": "data.n_train", "data.n_train": "model"}  # the other setting of each row
    flagged = {(row["setting"], row[where[row["setting"]]]) for _, row in table.iterrows() if row["beyond_seed_noise"]}
    assert flagged == {("model", 100), ("data.n_train", "gru"), ("data.n_train", "lstm")}


def test_one_seed_per_value_gives_no_interval_and_no_flag(trials):
    table = paired_comparisons(trials[trials["params.trainer.seed"] == 1], "test_acc")
    assert (table["n"] == 1).all() and table["ci_low"].isna().all() and not table["beyond_seed_noise"].any()
