"""Read a sweep's trial runs out of the MLflow store: which store, which experiment, which sweep."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities import Experiment

from hydra_plugins.seqsweep_plugins import quiet_loggers
from src.reporting.errors import ReportError
from src.tracking.store import absolute_uri, default_tracking_uri
from src.tracking.summary import child_runs


def open_store(uri: str | None = None) -> str:
    """Point MLflow at `uri` (default: the trainer's store) and return it, absolute.

    A missing SQLite file is an error rather than a new empty store, so a typo in the
    folder says so instead of reporting "no experiment".
    """
    uri = absolute_uri(uri or default_tracking_uri())
    quiet_loggers("mlflow", "alembic")
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise ReportError(f"no MLflow store at {uri}; run from the folder holding mlruns/ or set MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    return uri


def find_experiment(name: str) -> Experiment:
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        names = sorted(e.name for e in mlflow.search_experiments())
        raise ReportError(
            f"no experiment named '{name}' in {mlflow.get_tracking_uri()}; available: {', '.join(names) or 'none'}"
        )
    return experiment


def latest_sweep(experiment_name: str | None = None) -> str:
    """Run id of the most recently started sweep parent (tag sweep=true), in one experiment or all."""
    experiments = [find_experiment(experiment_name).experiment_id] if experiment_name else None
    parents = mlflow.search_runs(
        experiment_ids=experiments,
        search_all_experiments=experiments is None,
        filter_string="tags.sweep = 'true'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if parents.empty:
        where = f"experiment '{experiment_name}'" if experiment_name else mlflow.get_tracking_uri()
        raise ReportError(f"no sweep (multirun parent run) in {where}; run `python -m src.train -m ...` first")
    return str(parents.iloc[0]["run_id"])


def sweep_trials(parent_run_id: str, experiment_name: str | None = None) -> pd.DataFrame:
    """Every child run of the sweep, as `mlflow.search_runs` returns them (oldest first)."""
    try:
        parent = mlflow.get_run(parent_run_id)
    except mlflow.exceptions.MlflowException as error:
        raise ReportError(f"no run with id '{parent_run_id}' in {mlflow.get_tracking_uri()}") from error
    if experiment_name and find_experiment(experiment_name).experiment_id != parent.info.experiment_id:
        raise ReportError(f"sweep {parent_run_id} is not in experiment '{experiment_name}'")
    runs = child_runs(parent_run_id)
    if runs.empty:
        raise ReportError(f"sweep {parent_run_id} has no trial runs (is it a sweep's parent run?)")
    return runs


def metric_histories(run_ids: list[str], metric: str) -> pd.DataFrame:
    """Long table `run_id, step, <metric>` of every logged step (step = epoch for per-epoch metrics)."""
    client = mlflow.MlflowClient()
    rows = [
        {"run_id": run_id, "step": point.step, metric: point.value}
        for run_id in run_ids
        for point in client.get_metric_history(run_id, metric)
    ]
    return pd.DataFrame(rows, columns=["run_id", "step", metric])


def sweep_objectives(parent_run_id: str) -> list[tuple[str, str]]:
    """(metric, direction) pairs the sweep optimized, from its parent run's `sweep_objectives` and
    `sweep_directions` tags (the sweep tracker sets them); empty when the tags are missing."""
    tags = mlflow.get_run(parent_run_id).data.tags
    names = [name for name in tags.get("sweep_objectives", "").split(",") if name]
    directions = [direction for direction in tags.get("sweep_directions", "").split(",") if direction]
    if not names or len(directions) != len(names):
        return []
    return list(zip(names, directions))
