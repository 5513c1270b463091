"""Which trials of a sweep a best, or a Pareto front, may be chosen among: the sweeper's own rule
(`hydra.sweeper.best_among`, the plugin's `BestSoFar`) applied to the trials read back from MLflow,
so the plots ring what the sweep itself named."""

from __future__ import annotations

import pandas as pd

from hydra_plugins.seqsweep_plugins import BestRule, BestSoFar, Candidate
from src.data.validation_set import FINGERPRINT_KEY

SIZE, FINGERPRINT, MIN_SIZE = "metrics.n_val", f"tags.{FINGERPRINT_KEY}", "params.data.min_val_size"
DEFAULT_MIN_SIZE = 100  # conf/config.yaml's fallback for a data config without min_val_size


def comparable(trials: pd.DataFrame, value: str, higher_is_better: bool = True) -> tuple[pd.Series, str | None]:
    """A mask of the trials with `value` that may be compared (same validation set, large enough),
    in launch order; and, when none may, why."""
    mask = pd.Series(False, index=trials.index)
    # Trials that never recorded a size or a fingerprint (other apps, older runs) are judged on what they did record.
    rule = BestRule(
        "n_val" if SIZE in trials.columns else None,
        FINGERPRINT_KEY if FINGERPRINT in trials.columns else None,
        _min_size(trials),
    )
    tracker = BestSoFar(rule, "maximize" if higher_is_better else "minimize")
    for index, row in _in_launch_order(trials[trials[value].notna()]).iterrows():
        evidence = {}
        if SIZE in row and pd.notna(row[SIZE]):
            evidence["n_val"] = int(row[SIZE])
        if FINGERPRINT in row and pd.notna(row[FINGERPRINT]):
            evidence[FINGERPRINT_KEY] = str(row[FINGERPRINT])
        tracker.add(Candidate(index, [float(row[value])], evidence))
    mask[[candidate.number for candidate in tracker.eligible()]] = True
    return mask, tracker.reason()


def _min_size(trials: pd.DataFrame) -> int:
    sizes = pd.to_numeric(trials.get(MIN_SIZE, pd.Series(dtype=float)), errors="coerce").dropna()
    return int(sizes.iloc[0]) if len(sizes) else DEFAULT_MIN_SIZE


def _in_launch_order(trials: pd.DataFrame) -> pd.DataFrame:
    return trials.sort_values("start_time") if "start_time" in trials.columns else trials
