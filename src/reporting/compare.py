"""Is a difference beyond seed noise? Paired comparisons of each varied setting's values (compare.csv).

For every setting the sweep varies, every pair of its values is compared within each combination
of the other varied settings (lstm against gru at each `data.n_train`), on trials paired by seed:
the difference of their metric per seed, its mean, and a t interval. With m comparisons in the
table the interval is at level 1 - 0.05/m (Bonferroni), so the "beyond seed noise" flags (the
interval excludes 0) hold together at 95%: a sweep of many pairs does not flag one by chance.
Seed pairing removes what one seed's data order and initialization give both values alike
(Bouthillier et al., MLSys 2021, on how seed variance changes published comparisons).

scipy.stats gives the t interval; the pairing and the family-wise level are what no library
function does for a table of MLflow runs, so they are written here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from src.reporting.columns import short_name
from src.reporting.seed_summary import SEED, completed, setting_columns, shown_keys

FAMILY_LEVEL = 0.95
COLUMNS = ["setting", "a", "b", "n", "mean_diff", "ci_low", "ci_high", "level", "beyond_seed_noise"]


def paired_comparisons(trials: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per compared pair: `setting`, values `a` and `b`, the other varied settings (by
    their short names), `n` seeds with both, `mean_diff` (a - b of `metrics.<metric>`), the
    interval `ci_low`..`ci_high` at `level`, and `beyond_seed_noise`. Pairs with fewer than two
    shared seeds get no interval and are never flagged. Empty when no setting varies."""
    done = completed(trials)
    column = f"metrics.{metric}"
    if done.empty or column not in done or SEED not in done:
        return pd.DataFrame(columns=COLUMNS)
    varied = [key for key in shown_keys(done, setting_columns(done)) if done[key].nunique(dropna=False) > 1]
    rows = [row for key in varied for row in _pairs_of(done, key, [k for k in varied if k != key], column)]
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=COLUMNS)
    return _with_intervals(table, others=[short_name(k) for k in varied])


def _pairs_of(done: pd.DataFrame, key: str, others: list[str], column: str) -> list[dict]:
    rows = []
    groups = done.groupby(others, dropna=False, sort=True) if others else [((), done)]
    for combination, group in groups:
        combination = combination if isinstance(combination, tuple) else (combination,)
        # A seed run twice for one value (a rerun) counts once, at its mean.
        by_value = {
            value: rows_of.groupby(SEED)[column].mean() for value, rows_of in group.groupby(key, sort=True, dropna=False)
        }
        for a, b in itertools.combinations(sorted(by_value, key=_order), 2):
            shared = by_value[a].index.intersection(by_value[b].index)
            differences = (by_value[a].loc[shared] - by_value[b].loc[shared]).dropna().to_numpy(dtype=float)
            rows.append(
                {
                    "setting": short_name(key),
                    "a": a,
                    "b": b,
                    **{short_name(k): v for k, v in zip(others, combination)},
                    "_differences": differences,
                }
            )
    return rows


def _with_intervals(table: pd.DataFrame, others: Sequence[str]) -> pd.DataFrame:
    compared = table["_differences"].map(len) >= 2
    m = max(int(compared.sum()), 1)
    level = 1 - (1 - FAMILY_LEVEL) / m
    intervals = table["_differences"].map(lambda d: paired_interval(d, level))
    table["n"] = table["_differences"].map(len)
    table["mean_diff"] = intervals.map(lambda i: i[0])
    table["ci_low"] = intervals.map(lambda i: i[1])
    table["ci_high"] = intervals.map(lambda i: i[2])
    table["level"] = level
    table["beyond_seed_noise"] = compared & ((table["ci_low"] > 0) | (table["ci_high"] < 0))
    ordered = ["setting", "a", "b", *[o for o in others if o in table.columns]]
    return table[[*ordered, *COLUMNS[3:]]].reset_index(drop=True)


def paired_interval(differences: np.ndarray, level: float) -> tuple[float, float, float]:
    """(mean, low, high) of the paired differences: `scipy.stats.ttest_1samp`'s t interval of their mean."""
    n = len(differences)
    mean = float(np.mean(differences)) if n else np.nan
    if n < 2:
        return mean, np.nan, np.nan
    interval = stats.ttest_1samp(differences, 0.0).confidence_interval(level)
    return mean, float(interval.low), float(interval.high)


def _order(value: object) -> tuple:
    """Numbers in numeric order, words alphabetically, missing last."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return (2, "")
    if isinstance(value, (int, float, np.number)):
        return (0, float(value))
    return (1, str(value))
