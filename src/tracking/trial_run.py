"""One MLflow run per trial: params and tags at start, epochs as they end, results, final status."""

from __future__ import annotations

import contextlib
import io
import math
import platform
import socket
import time
from pathlib import Path
from typing import Any

import keras
import mlflow
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from omegaconf import DictConfig

from hydra_plugins.seqsweep_plugins import mask_secrets
from hydra_plugins.seqsweep_plugins.engine.versions import git_commit, package_versions
from src.errors import StoreError
from src.tracking.params import flatten_config, masked_config_yaml
from src.tracking.pruning import TrialPrunedAtEpoch
from src.tracking.store import absolute_uri, connect, describe_cause

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class MlflowEpochLogger(keras.callbacks.Callback):
    """Logs every numeric value of an epoch's logs (loss, acc, val_*, epoch_seconds, ...) with step=epoch (1-based)."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.client = mlflow.MlflowClient()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        metrics = {name: float(value) for name, value in (logs or {}).items() if _is_number(value)}
        self.client.log_batch(
            self.run_id,
            metrics=[Metric(name, value, _now_ms(), epoch + 1) for name, value in metrics.items()],
        )


class TrialRun:
    """Context manager owning one trial's MLflow run.

    The run always ends: FINISHED on success, FAILED with an `error` tag when the trial
    raises, KILLED on Ctrl-C, KILLED with a `pruned_at_epoch` tag (and no `error`) when an
    Optuna pruner stopped it. Inside a sweep it is a child of the parent run whose id the
    sweeping process handed to the job (`parent_run_id`), never one inherited from the environment.
    """

    def __init__(self, cfg: DictConfig, run_name: str, tags: dict[str, str], parent_run_id: str | None = None) -> None:
        self.cfg = cfg
        self.run_name = run_name
        self.tags = tags
        self.parent_run_id = parent_run_id
        self.run_id: str | None = None

    def __enter__(self) -> "TrialRun":
        # Inside a sweep the store answered at the sweep's start: one restarting now is waited for.
        experiment_id = connect(self.cfg.tracking, proven=self.parent_run_id is not None)
        parent_run_id = self.parent_run_id
        sweep_tags = {"sweep_id": parent_run_id} if parent_run_id else {}
        run = mlflow.start_run(
            experiment_id=experiment_id,
            run_name=self.run_name,
            parent_run_id=parent_run_id,
            tags={**self.tags, **sweep_tags, **_environment_tags()},
        )
        self.run_id = run.info.run_id
        try:
            mlflow.log_params(flatten_config(self.cfg))
            mlflow.log_text(masked_config_yaml(self.cfg), "config.yaml")
        except BaseException as error:
            # __exit__ is not called when __enter__ raises: close the run here.
            self.__exit__(type(error), error, error.__traceback__)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        """Close the run as the trial ended. A store that fails meanwhile (the trial's own logging,
        or closing the run) raises StoreError: a failure outside the trial, which stops the sweep."""
        try:
            self._close(exc_type, exc)
        except Exception as closing:
            if not _from_the_store(closing):
                raise
            # The run cannot be closed: forget it here, so the next trial of this process does
            # not meet it as "already active" (the next command on the store closes it).
            while mlflow.active_run() is not None:
                with contextlib.suppress(Exception):  # end_run forgets the run before it writes to the store
                    mlflow.end_run("FAILED")
            if exc is not None and not isinstance(exc, Exception):
                return False  # Ctrl-C or a signal: the sweep stops as asked, whatever the store did
            raise StoreError(self._uri(), describe_cause(closing)) from (exc or closing)
        if exc is not None and _from_the_store(exc):
            raise StoreError(self._uri(), describe_cause(exc)) from exc
        return False

    def _uri(self) -> str:
        return absolute_uri(str(self.cfg.tracking.tracking_uri))

    def _close(self, exc_type, exc) -> None:
        _log_console_output()
        if exc_type is None:
            mlflow.end_run("FINISHED")
        elif issubclass(exc_type, TrialPrunedAtEpoch):
            mlflow.set_tag("pruned_at_epoch", str(exc.epoch))
            mlflow.end_run("KILLED")
        elif issubclass(exc_type, KeyboardInterrupt):
            mlflow.set_tag("error", "interrupted")
            mlflow.end_run("KILLED")
        else:
            mlflow.set_tag("error", mask_secrets(f"{exc_type.__name__}: {exc}")[:5000])
            mlflow.end_run("FAILED")

    def epoch_logger(self) -> MlflowEpochLogger:
        return MlflowEpochLogger(self.run_id)

    def log_result(
        self,
        metrics: dict[str, float],
        history: dict[str, list[float]],
        model: keras.Model,
        tags: dict[str, str] | None = None,
    ) -> None:
        """Final metrics and `tags` (what the trial learned about itself, e.g. its validation set's
        fingerprint) plus the history CSV and model summary as artifacts."""
        if tags:
            mlflow.set_tags(tags)
        # Per-epoch keys (loss, val_acc, ...) are already logged with step=epoch, and MLflow
        # reports the last step as the run's value; logging them again would add a bogus step 0.
        final = {name: value for name, value in metrics.items() if name not in history and math.isfinite(value)}
        mlflow.log_metrics(final)
        history_frame = pd.DataFrame(history)
        history_frame.insert(0, "epoch", range(1, len(history_frame) + 1))
        mlflow.log_text(history_frame.to_csv(index=False), "history.csv")
        summary = io.StringIO()
        model.summary(print_fn=lambda line, **_: summary.write(line + "\n"))
        mlflow.log_text(summary.getvalue(), "model_summary.txt")

    def set_tags(self, tags: dict[str, str]) -> None:
        mlflow.set_tags(tags)

    def log_levels(self, metric: str, values: dict[int, float]) -> None:
        """`{metric}_by_level`, one step per fidelity level measured so far (step = the level),
        so MLflow's chart of it draws each configuration's learning curve; the per-epoch history
        of `metric` stays as it is."""
        client = mlflow.MlflowClient()
        timestamp = _now_ms()
        entries = [
            Metric(f"{metric}_by_level", float(value), timestamp, int(level))
            for level, value in sorted(values.items())
            if math.isfinite(value)
        ]
        client.log_batch(self.run_id, metrics=entries)


def _from_the_store(error: BaseException) -> bool:
    """An error of a store call: MLflow's own, or the HTTP client's under it. The training code
    knows nothing of MLflow, so inside a trial these come from logging, never from the trial."""
    import requests

    return isinstance(error, (MlflowException, requests.RequestException)) and not isinstance(error, StoreError)


def _log_console_output() -> None:
    """The trial's console output, when its launcher kept it (our Ray launcher writes console.log
    into the job's folder), as the run's artifact console.log."""
    if not HydraConfig.initialized():
        return
    path = Path(HydraConfig.get().runtime.output_dir) / "console.log"
    if path.is_file():
        mlflow.log_text(mask_secrets(path.read_text(errors="replace")), "console.log")


def _environment_tags() -> dict[str, str]:
    """The code and package versions of the machine that runs the trial (machines of a cluster may differ)."""
    versions = package_versions(("tensorflow", "keras", "mlflow"))
    tags = {
        "host": socket.gethostname(),
        "python_version": platform.python_version(),
        **{f"{name}_version": str(version) for name, version in versions.items()},
    }
    commit = git_commit(PROJECT_ROOT)
    if commit:
        tags["mlflow.source.git.commit"] = commit
        tags["git_commit"] = commit
    return tags


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _now_ms() -> int:
    return int(time.time() * 1000)
