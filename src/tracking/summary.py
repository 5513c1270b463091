"""The table printed when a multirun ends: one row per trial, the swept settings and key results."""

from __future__ import annotations

import re

import mlflow
import pandas as pd

from hydra_plugins.seqsweep_plugins import bare_key, first_sentence, readable_number

# Colour and cursor codes some libraries put in exception messages.
ANSI_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

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
    """One row per trial: the swept settings in the order the sweep names them (group choices
    such as `optimizer` included), other settings that differ, status, headline metrics and
    any failure as one short line. `table.attrs["note"]` explains a marked column."""
    runs = child_runs(parent_run_id)
    if runs.empty:
        return runs
    swept = [key.strip() for key in mlflow.get_run(parent_run_id).data.tags.get("sweep_varying", "").split(",") if key.strip()]
    overrides = runs.get("tags.hydra_overrides", pd.Series([""] * len(runs), index=runs.index)).fillna("").map(_as_settings)
    table = pd.DataFrame(index=runs.index)
    for key in swept:
        table[key] = overrides.map(lambda settings, key=key: settings.get(key))
    for column in sorted(c for c in runs.columns if c.startswith("params.") and not c.endswith("._target_")):
        key = column.removeprefix("params.")
        if runs[column].nunique(dropna=False) > 1 and not any(key == s or key.startswith(s + ".") for s in swept):
            table[key] = runs[column]
    table["status"] = runs["status"]
    if "tags.pruned_at_epoch" in runs.columns and runs["tags.pruned_at_epoch"].notna().any():
        table["pruned_at_epoch"] = runs["tags.pruned_at_epoch"]  # Optuna sweeps: status KILLED, not a failure
    primary = sorted(runs.get("params.data.primary_metric", pd.Series(["acc"])).dropna().unique()) or ["acc"]
    headline = [f"{split}{m}" for m in primary for split in ("test_", "val_")]
    for metric in [*headline, *RESULT_COLUMNS]:
        if f"metrics.{metric}" in runs.columns:
            table[metric] = runs[f"metrics.{metric}"]
    table = _mark_one_epoch_speed(table, runs)
    if "tags.error" in runs.columns and runs["tags.error"].notna().any():
        table["error"] = runs["tags.error"].map(short_error)
    return table.reset_index(drop=True)


def short_error(error: object, limit: int = 80) -> object:
    """A failure as one short line for the table (its whole text stays on the trial's MLflow run)."""
    if not isinstance(error, str):
        return error
    return first_sentence(" ".join(ANSI_CODES.sub("", error).split()), limit=limit)


def _as_settings(overrides: str) -> dict[str, str]:
    """`model=lstm +trainer.x=1` -> {model: lstm, trainer.x: 1}: a trial's overrides by key."""
    pairs = (text.split("=", 1) for text in overrides.split() if "=" in text)
    return {bare_key(key): readable_number(value) for key, value in pairs}


def _mark_one_epoch_speed(table: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """A one-epoch trial's ms_per_step includes building the graph (steady_ms_per_step has no
    later epoch to measure): marked, with a note, rather than shown as the model's speed."""
    epochs = pd.to_numeric(runs.get("params.trainer.epochs"), errors="coerce")
    if "ms_per_step" not in table or epochs is None or not (epochs == 1).any():
        return table
    marked = table.rename(columns={"ms_per_step": "ms_per_step*"})
    marked.attrs["note"] = (
        "* with 1 epoch, ms_per_step includes building the graph (first steps); train 2 or more epochs to measure speed"
    )
    return marked
