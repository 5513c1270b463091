"""The table printed when a multirun ends: one row per trial, the swept settings and key results."""

from __future__ import annotations

import mlflow
import pandas as pd

# Besides the task's own metric (the param data.primary_metric: acc, mse, ...), test and validation.
RESULT_COLUMNS = ["test_exact_match", "fit_seconds", "ms_per_step"]


def child_runs(parent_run_id: str) -> pd.DataFrame:
    """All trial runs of a sweep, oldest first, as `mlflow.search_runs` returns them."""
    parent = mlflow.get_run(parent_run_id)
    runs = mlflow.search_runs(
        experiment_ids=[parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
        order_by=["attributes.start_time ASC"],
    )
    return runs


def sweep_table(parent_run_id: str) -> pd.DataFrame:
    """Settings that differ between trials, status, headline metrics and any failure reason."""
    runs = child_runs(parent_run_id)
    if runs.empty:
        return runs
    param_columns = [c for c in runs.columns if c.startswith("params.")]
    varying = [c for c in param_columns if runs[c].nunique(dropna=False) > 1 and not c.endswith("._target_")]
    columns = {c: c.removeprefix("params.") for c in varying}
    columns["status"] = "status"
    if "tags.pruned_at_epoch" in runs.columns and runs["tags.pruned_at_epoch"].notna().any():
        columns["tags.pruned_at_epoch"] = "pruned_at_epoch"  # Optuna sweeps: status KILLED, not a failure
    primary = sorted(runs.get("params.data.primary_metric", pd.Series(["acc"])).dropna().unique()) or ["acc"]
    headline = [f"{split}{m}" for m in primary for split in ("test_", "val_")]
    columns.update({f"metrics.{m}": m for m in [*headline, *RESULT_COLUMNS] if f"metrics.{m}" in runs.columns})
    if "tags.error" in runs.columns and runs["tags.error"].notna().any():
        columns["tags.error"] = "error"
    table = runs[list(columns)].rename(columns=columns)
    return table.round(4)
