"""One tidy row per trial: identity, status, times, every param, every final metric, failure or pruning.

Column names keep MLflow's prefixes (`params.data.n_train`, `metrics.test_acc`, `tags.optimizer`)
because the same name can be both a param and a metric (`loss`); `columns.resolve` accepts them
without the prefix. A few columns are promoted to plain names: `model`, `error`, `pruned_at_epoch`.

Missing values are real missing values (empty in the CSV), also for params MLflow stores as
the string "null"; numbers are rounded to what they mean (`metrics.round_values`).
"""

from __future__ import annotations

import pandas as pd

from src.reporting.metrics import SECONDS, round_values

# How MLflow stores a None param (str(None) in older runs).
MISSING_PARAM = ("null", "None")
# Params stored as "null" that stand for a number MLflow knows from the run's metrics:
# n_train=null means every training review, whose count the run logged as n_train + n_val
# (with trainer.validation=fixed, every review outside the validation set: n_train alone).
NULL_MEANS_ALL = {
    "params.data.n_train": ("metrics.n_train", "metrics.n_val"),
    "params.data.n_test": ("metrics.n_test",),
}
PROMOTED_TAGS = {"tags.error": "error", "tags.pruned_at_epoch": "pruned_at_epoch"}
LEADING = [
    "run_id",
    "run_name",
    "parent_run_id",
    "status",
    "start_time",
    "end_time",
    "wall_seconds",
    "model",
    "error",
    "pruned_at_epoch",
]


def tidy_trials(runs: pd.DataFrame) -> pd.DataFrame:
    """Turn `mlflow.search_runs` output for a sweep's children into the trials table."""
    table = pd.DataFrame(index=runs.index)
    table["run_id"] = runs["run_id"]
    table["run_name"] = runs.get("tags.mlflow.runName")
    table["parent_run_id"] = runs.get("tags.mlflow.parentRunId")
    table["status"] = runs["status"]
    table["start_time"] = runs["start_time"]
    table["end_time"] = runs["end_time"]
    table["wall_seconds"] = (runs["end_time"] - runs["start_time"]).dt.total_seconds().round(SECONDS.decimals)
    table["model"] = _model_names(runs)
    for tag, name in PROMOTED_TAGS.items():
        table[name] = runs[tag] if tag in runs.columns else pd.NA
    table["pruned_at_epoch"] = pd.to_numeric(table["pruned_at_epoch"], errors="coerce").astype("Int64")

    params = runs[sorted(c for c in runs.columns if c.startswith("params."))].apply(_typed_param)
    metrics = runs[sorted(c for c in runs.columns if c.startswith("metrics."))]
    metrics = metrics.apply(lambda column: round_values(column.name, column))
    for param, count_columns in NULL_MEANS_ALL.items():
        if param in params.columns and all(c in metrics.columns for c in count_columns):
            counted = metrics[list(count_columns)].sum(axis=1, min_count=1)
            if param == "params.data.n_train" and "tags.validation" in runs.columns:
                counted = counted.where(runs["tags.validation"] != "fixed", metrics["metrics.n_train"])
            params[param] = _fill_all(runs[param], params[param], counted)
    params = params.mask(params.isin(MISSING_PARAM))
    tags = runs[sorted(c for c in runs.columns if _is_own_tag(c))]
    table = pd.concat([table, params, metrics, tags], axis=1)
    return _in_launch_order(table).reset_index(drop=True)


def _model_names(runs: pd.DataFrame) -> pd.Series:
    for column in ("params.model.name", "tags.model"):
        if column in runs.columns:
            return runs[column]
    return pd.Series(pd.NA, index=runs.index)


def _typed_param(values: pd.Series) -> pd.Series:
    """Numbers as numbers (ints stay ints) when every set value parses; "null" becomes missing then."""
    present = values[values.notna() & ~values.isin(MISSING_PARAM)]
    numbers = pd.to_numeric(present, errors="coerce")
    if present.empty or numbers.isna().any() or present.isin(["True", "False"]).any():
        return values
    typed = pd.to_numeric(values.mask(values.isin(MISSING_PARAM)), errors="coerce")
    return _as_int_if_whole(typed)


def _fill_all(raw: pd.Series, typed: pd.Series, counts: pd.Series) -> pd.Series:
    filled = pd.to_numeric(typed.where(~raw.isin(MISSING_PARAM), counts), errors="coerce")
    return _as_int_if_whole(filled)


def _as_int_if_whole(values: pd.Series) -> pd.Series:
    present = values.dropna()
    if not present.empty and (present == present.round()).all():
        return values.round().astype("Int64")
    return values


def _is_own_tag(column: str) -> bool:
    return (
        column.startswith("tags.")
        and not column.startswith("tags.mlflow.")
        and column not in PROMOTED_TAGS
        and column != "tags.model"
    )


def _in_launch_order(table: pd.DataFrame) -> pd.DataFrame:
    if "tags.sweep_trial" in table.columns:
        order = pd.to_numeric(table["tags.sweep_trial"], errors="coerce")
        return table.assign(_order=order).sort_values(["_order", "start_time"], kind="stable").drop(columns="_order")
    return table.sort_values("start_time", kind="stable")
