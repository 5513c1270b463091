"""Where runs go: the tracking URI and the experiment."""

from __future__ import annotations

from pathlib import Path

import mlflow
from omegaconf import DictConfig

PARENT_RUN_ENV = "SEQSWEEP_PARENT_RUN_ID"


def connect(tracking_cfg: DictConfig) -> str:
    """Point MLflow at the configured store and return the experiment id (created if missing).

    A relative SQLite path is taken from the working directory; its folder is created so a
    fresh checkout needs no set-up.
    """
    uri = str(tracking_cfg.tracking_uri)
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        database = Path(uri.removeprefix("sqlite:///")).resolve()
        database.parent.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{database}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name(tracking_cfg.experiment_name)
    if experiment is not None:
        return experiment.experiment_id
    artifact_location = None
    if uri.startswith("sqlite:"):
        # Keep artifacts beside the database, not in ./mlartifacts of whatever folder runs first.
        artifact_location = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts" / tracking_cfg.experiment_name).as_uri()
    return mlflow.create_experiment(tracking_cfg.experiment_name, artifact_location=artifact_location)
