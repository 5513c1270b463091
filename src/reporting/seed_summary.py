"""Mean, spread and a 95% confidence interval of every metric over trials that differ only in their seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

SEED = "params.trainer.seed"
# Params that say nothing about what was trained: where the data and runs live, how chatty.
NOT_A_SETTING = ("params.data.source", "params.data.cache_dir", "params.trainer.verbose", "params.tracking.")
SUMMARY_COLUMNS = ["metric", "count", "mean", "std", "ci95_low", "ci95_high", "ci95_half_width", "seeds"]


def setting_columns(trials: pd.DataFrame) -> list[str]:
    """The params that define a group: every param except the seed and the paths/verbosity ones."""
    return [c for c in trials.columns if c.startswith("params.") and c != SEED and not c.startswith(NOT_A_SETTING)]


def seed_summary(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per (group, metric), tidy: the group's varying settings, then `SUMMARY_COLUMNS`.

    Only completed trials count (status FINISHED and not pruned): a failed or pruned trial
    has no comparable final metrics. The interval is mean +- t(0.975, n-1) * std / sqrt(n),
    with the sample std (ddof=1); it is empty for a group of one.
    """
    done = trials[(trials["status"] == "FINISHED") & trials["pruned_at_epoch"].isna()]
    settings = setting_columns(done)
    keys = _shown_keys(done, settings)
    metrics = [c for c in done.columns if c.startswith("metrics.")]
    rows = []
    # Group on every setting (not only the varying ones shown) so that no two different configs mix.
    for _, group in done.groupby(settings or ["model"], dropna=False, sort=False):
        seeds = " ".join(str(s) for s in sorted(group[SEED].dropna())) if SEED in group else ""
        for metric in metrics:
            rows.append({**group.iloc[0][keys].to_dict(), "metric": metric.removeprefix("metrics."), **_interval(group[metric]), "seeds": seeds})
    summary = pd.DataFrame(rows, columns=[*keys, *SUMMARY_COLUMNS])
    return summary.sort_values([*keys, "metric"], kind="stable").reset_index(drop=True)


def _shown_keys(done: pd.DataFrame, settings: list[str]) -> list[str]:
    """`model` and the settings that vary, leaving out `_target_`/`_partial_` columns (implied by
    the model or optimizer) unless they are what tells two groups apart."""
    varying = [c for c in settings if done[c].nunique(dropna=False) > 1 and c != "params.model.name"]
    plain = ["model", *[c for c in varying if not c.endswith(("._target_", "._partial_"))]]
    n_groups = len(done.groupby(settings, dropna=False)) if settings else 1
    if len(done.groupby(plain, dropna=False)) < n_groups:
        return ["model", *varying]
    return plain


def _interval(values: pd.Series) -> dict[str, float]:
    values = pd.to_numeric(values, errors="coerce").dropna()
    n = len(values)
    mean = float(values.mean()) if n else np.nan
    std = float(values.std(ddof=1)) if n > 1 else np.nan
    half = float(stats.t.ppf(0.975, n - 1) * std / np.sqrt(n)) if n > 1 else np.nan
    return {"count": n, "mean": mean, "std": std, "ci95_low": mean - half, "ci95_high": mean + half, "ci95_half_width": half}
