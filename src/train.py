"""Train one model, or a sweep of them, and track every trial in MLflow.

    python -m src.train                                   # one run with the defaults
    python -m src.train model=lstm data.n_train=1000      # one run, overridden
    python -m src.train -m model=simplernn,lstm,gru data.n_train=10,100,25000
    python -m src.train +sweeps=main_grid                 # a named preset from sweeps/
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

import hydra
import keras
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

import src  # noqa: F401  (quiets TensorFlow before it is imported)
from src.data.imdb_archive import DataSourceError
from src.errors import ConfigError
from src.tracking.optuna_trial import StudyTrial, TrialPrunedAtEpoch
from src.tracking.trial_run import TrialRun
from src.training.trainer import train
from src.validation import validate_config


def _is_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _run_identity(cfg: DictConfig) -> tuple[str, dict[str, str]]:
    """The run name and the tags that say where a trial came from."""
    hydra_cfg = HydraConfig.get()
    short_name = hydra_cfg.job.override_dirname
    tags = {
        "model": str(cfg.model.name),
        "data": str(cfg.data.name),
        "optimizer": hydra_cfg.runtime.choices.get("optimizer", ""),
        "hydra_overrides": " ".join(hydra_cfg.overrides.task),
    }
    if _is_multirun():
        tags["sweep_job_num"] = str(hydra_cfg.job.num)
        return f"#{hydra_cfg.job.num} {short_name}".strip(), tags
    return f"{cfg.model.name} {short_name}".strip(), tags


def run_trial(
    cfg: DictConfig, callbacks: Sequence[keras.callbacks.Callback] = (), study_trial: StudyTrial | None = None
) -> dict[str, Any]:
    """Train one configured trial inside its MLflow run and print a one-line result.

    Returns the trial's outcome: ``{"run_id", "status": "FINISHED", "metrics"}``. Raises
    whatever the trial raised, after the run has been recorded FAILED (KILLED for a trial
    the Optuna pruner stopped). With an Optuna `study_trial`, the run and the trial are
    linked both ways and the trial reports every epoch to the study.
    """
    run_name, tags = _run_identity(cfg)
    if study_trial is not None:
        tags.update(study_trial.mlflow_tags())
        callbacks = [*callbacks, *study_trial.callbacks()]
    verbose = cfg.trainer.verbose if cfg.trainer.verbose is not None else (0 if _is_multirun() else 2)
    with TrialRun(cfg, run_name, tags) as run:
        if study_trial is not None:
            study_trial.link_run(run.run_id)
        result = train(cfg, callbacks=[run.epoch_logger(), *callbacks], verbose=verbose)
        run.log_result(result.metrics, result.history, result.model)
    m = result.metrics
    print(
        f"[trial] {run_name}: model={cfg.model.name} n_train={int(m['n_train'] + m['n_val'])} "
        f"test_acc={m.get('test_acc', float('nan')):.4f} (n_test={int(m['n_test'])}) "
        f"fit={m['fit_seconds']:.1f}s",
        flush=True,
    )
    return {"run_id": run.run_id, "status": "FINISHED", "metrics": m}


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, Any]:
    """Hydra entry point. Returns the trial outcome that sweepers read.

    A bad config exits with code 2 and one line. In a multirun a failing trial is returned
    as ``{"status": "FAILED", "error": ...}`` so the sweep goes on; a single run re-raises.
    A trial stopped by the Optuna sweeper's pruner is returned as ``{"status": "PRUNED",
    "pruned_at_epoch": k}``.
    """
    try:
        validate_config(cfg)
    except (ConfigError, DataSourceError) as error:
        # One line and exit code 2, before any MLflow run exists.
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(2)
    try:
        return run_trial(cfg, study_trial=StudyTrial.from_environment())
    except TrialPrunedAtEpoch as pruned:
        # Recorded KILLED with a `pruned_at_epoch` tag; the Optuna sweeper marks the trial PRUNED.
        print(f"[trial] PRUNED: {pruned}", flush=True)
        return {"run_id": None, "status": "PRUNED", "pruned_at_epoch": pruned.epoch, "metrics": {}}
    except Exception as error:
        if not _is_multirun():
            raise
        # The run is already FAILED in MLflow with the reason; the sweep goes on.
        reason = f"{type(error).__name__}: {error}"
        print(f"[trial] FAILED: {reason}", flush=True)
        return {"run_id": None, "status": "FAILED", "error": reason, "metrics": {}}


if __name__ == "__main__":
    main()
