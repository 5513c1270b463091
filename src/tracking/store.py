"""Where runs go: the tracking URI and the experiment."""

from __future__ import annotations

from pathlib import Path

import mlflow
from omegaconf import DictConfig, OmegaConf

PARENT_RUN_ENV = "SEQSWEEP_PARENT_RUN_ID"
TRACKING_CONFIG = Path(__file__).resolve().parents[2] / "conf" / "tracking" / "mlflow.yaml"


def default_tracking_uri() -> str:
    """The store a trial uses unless `tracking.tracking_uri` is overridden: `$MLFLOW_TRACKING_URI`
    or `sqlite:///mlruns/mlflow.db`, read from conf/tracking/mlflow.yaml so both stay one setting."""
    return str(OmegaConf.load(TRACKING_CONFIG).tracking_uri)


def absolute_uri(uri: str) -> str:
    """A relative SQLite URI made absolute against the working directory; other URIs unchanged."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return f"sqlite:///{Path(uri.removeprefix('sqlite:///')).resolve()}"
    return uri


def connect(tracking_cfg: DictConfig) -> str:
    """Point MLflow at the configured store and return the experiment id (created if missing).

    A relative SQLite path is taken from the working directory; its folder is created so a
    fresh checkout needs no set-up.
    """
    uri = absolute_uri(str(tracking_cfg.tracking_uri))
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name(tracking_cfg.experiment_name)
    if experiment is not None:
        return experiment.experiment_id
    artifact_location = None
    if uri.startswith("sqlite:"):
        # Keep artifacts beside the database, not in ./mlartifacts of whatever folder runs first.
        artifact_location = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts" / tracking_cfg.experiment_name).as_uri()
    return mlflow.create_experiment(tracking_cfg.experiment_name, artifact_location=artifact_location)
