"""One row per group of trials that differ only in their seed: count, mean, spread and a 95% interval per metric."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from src.reporting.metrics import kind_of, primary_metric, round_values

SEED = "params.trainer.seed"
# Params that say nothing about what was trained: where the data and runs live, how chatty.
NOT_A_SETTING = ("params.data.source", "params.data.cache_dir", "params.trainer.verbose", "params.tracking.")
# The metrics summarized, in column order; {p} is the sweep's primary metric (acc, mse).
SUMMARIZED = [
    "test_{p}",
    "val_{p}",
    "test_exact_match",
    "test_loss",
    "epochs_run",
    "fit_seconds",
    "ms_per_step",
    "inference_ms_per_sample",
    "n_params",
]
STATISTICS = ["mean", "std", "ci95_low", "ci95_high"]
GROUP_COLUMNS = ["count", "seeds"]


def setting_columns(trials: pd.DataFrame) -> list[str]:
    """The params that define a group: every param except the seed and the paths/verbosity ones."""
    return [c for c in trials.columns if c.startswith("params.") and c != SEED and not c.startswith(NOT_A_SETTING)]


def completed(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials with comparable final metrics: FINISHED and not pruned."""
    return trials[(trials["status"] == "FINISHED") & trials["pruned_at_epoch"].isna()]


def group_keys(summary: pd.DataFrame) -> list[str]:
    """The columns of a summary that name its group: those before `count`."""
    return list(summary.columns[: list(summary.columns).index("count")])


def seed_summary(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per group: its varying settings, `count` (completed trials), `seeds`, then
    `<metric>_mean`, `_std`, `_ci95_low`, `_ci95_high` for each summarized metric.

    Only completed trials count (status FINISHED and not pruned): a failed or pruned trial
    has no comparable final metrics. The interval is mean +- t(0.975, n-1) * std / sqrt(n)
    with the sample std (ddof=1), then clipped to the metric's bounds (an accuracy to
    [0, 1], times and losses to >= 0): the true mean lies inside them, so cutting off the
    impossible part keeps the interval's 95% coverage. A group of one has no spread and no
    interval (empty cells). Values are rounded as `metrics.round_values` says.
    """
    done = completed(trials)
    settings = setting_columns(done)
    keys = shown_keys(done, settings)
    primary = primary_metric(trials)
    metrics = [m.format(p=primary) for m in SUMMARIZED if f"metrics.{m.format(p=primary)}" in done.columns]
    columns = [*keys, *GROUP_COLUMNS, *[f"{m}_{s}" for m in metrics for s in STATISTICS]]
    rows = []
    # Group on every setting (not only the varying ones shown) so that no two different configs mix.
    for _, group in done.groupby(settings or ["model"], dropna=False, sort=False):
        row = {**group.iloc[0][keys].to_dict(), "count": len(group)}
        row["seeds"] = " ".join(str(s) for s in sorted(group[SEED].dropna())) if SEED in group else ""
        for metric in metrics:
            row.update({f"{metric}_{s}": v for s, v in _interval(metric, group[f"metrics.{metric}"]).items()})
        rows.append(row)
    summary = pd.DataFrame(rows, columns=columns).sort_values(keys, kind="stable").reset_index(drop=True)
    for metric in metrics:
        for statistic in STATISTICS:
            column = f"{metric}_{statistic}"
            summary[column] = round_values(metric, summary[column], statistic=True)
    return summary


def shown_keys(done: pd.DataFrame, settings: list[str]) -> list[str]:
    """`model` and the settings that vary, leaving out `_target_`/`_partial_` columns (implied by
    the model or optimizer) unless they are what tells two groups apart."""
    varying = [c for c in settings if done[c].nunique(dropna=False) > 1 and c != "params.model.name"]
    plain = ["model", *[c for c in varying if not c.endswith(("._target_", "._partial_"))]]
    n_groups = len(done.groupby(settings, dropna=False)) if settings else 1
    if len(done.groupby(plain, dropna=False)) < n_groups:
        return ["model", *varying]
    return plain


def _interval(metric: str, values: pd.Series) -> dict[str, float]:
    values = pd.to_numeric(values, errors="coerce").dropna()
    n = len(values)
    mean = float(values.mean()) if n else np.nan
    if n < 2:
        return {"mean": mean, "std": np.nan, "ci95_low": np.nan, "ci95_high": np.nan}
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1) * std / np.sqrt(n))
    low, high = kind_of(metric).bounds
    return {"mean": mean, "std": std, "ci95_low": max(mean - half, low), "ci95_high": min(mean + half, high)}
