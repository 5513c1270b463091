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
from omegaconf import DictConfig

import src  # noqa: F401  (quiets TensorFlow before it is imported)
from hydra_plugins.seqsweep_plugins import JobContext, current_job, current_trial, mask_secrets
from src.data.imdb_archive import DataSourceError
from src.errors import ConfigError, StoreError
from src.tracking.pruning import PruningReporter
from src.tracking.trial_run import TrialRun
from src.training.trainer import train
from src.validation import validate_config


def run_name(cfg: DictConfig, job: JobContext | None) -> str:
    """A trial's MLflow run name: the settings that vary in its sweep, then its trial number
    (`lstm n_train=100 #4`); a single run: the model and its overrides."""
    if job is None:
        overrides = HydraConfig.get().job.override_dirname if HydraConfig.initialized() else ""
        return f"{cfg.model.name} {overrides}".strip()
    keys = [text.split("=", 1)[0].lstrip("+~") for text in job.varying]
    last_parts = [key.rsplit(".", 1)[-1] for key in keys]
    shown = []
    for text, key, last in zip(job.varying, keys, last_parts):
        value = text.split("=", 1)[1]
        # A config-group choice (model=lstm) reads best as its value; a nested key by its last
        # part, unless two varying keys share it.
        shown.append(value if "." not in key else f"{last if last_parts.count(last) == 1 else key}={value}")
    return f"{' '.join(shown)} #{job.number}".strip()


def run_tags(cfg: DictConfig, job: JobContext | None) -> dict[str, str]:
    """Tags that say where a trial came from."""
    tags = {"model": str(cfg.model.name), "data": str(cfg.data.name)}
    if HydraConfig.initialized():
        hydra_cfg = HydraConfig.get()
        tags["optimizer"] = hydra_cfg.runtime.choices.get("optimizer", "")
        tags["hydra_overrides"] = mask_secrets(" ".join(hydra_cfg.overrides.task))
    if job is not None:
        tags.update(job.tags)
        tags["sweep_trial"] = str(job.number)
    return tags


def run_trial(cfg: DictConfig, callbacks: Sequence[keras.callbacks.Callback] = ()) -> dict[str, float]:
    """Train one configured trial inside its MLflow run and print a one-line result.

    Returns the trial's metrics (what the sweepers read their objectives from). Raises whatever
    the trial raised, after the run has been recorded FAILED (KILLED for a trial the Optuna
    pruner stopped). In an Optuna sweep the trial reports every epoch to the study.
    """
    job = current_job()
    trial = current_trial()
    verbose = cfg.trainer.verbose if cfg.trainer.verbose is not None else (0 if job is not None else 2)
    if trial is not None and len(job.objectives) == 1:  # Optuna prunes single-objective studies only
        callbacks = [*callbacks, PruningReporter(trial, job.objectives[0])]
    parent = job.sweep.get("mlflow_parent_run_id") if job is not None else None
    name = run_name(cfg, job)
    with TrialRun(cfg, name, run_tags(cfg, job), parent_run_id=parent) as run:
        if trial is not None:
            trial.set_user_attr("mlflow_run_id", run.run_id)
        result = train(cfg, callbacks=[run.epoch_logger(), *callbacks], verbose=verbose)
        run.log_result(result.metrics, result.history, result.model)
    m = result.metrics
    metric = f"test_{cfg.data.get('primary_metric', 'acc')}"
    print(
        f"[trial] {name}: model={cfg.model.name} n_train={int(m['n_train'] + m['n_val'])} "
        f"{metric}={m.get(metric, float('nan')):.4f} (n_test={int(m['n_test'])}) fit={m['fit_seconds']:.1f}s",
        flush=True,
    )
    return m


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, float]:
    """Hydra entry point: one trial. Returns its metrics dict, which the sweepers read.

    A bad config exits with code 2 and one line. A failing trial raises after its run is
    recorded FAILED: a single run ends with the error, a sweep records the trial FAIL and goes
    on. A trial stopped by the Optuna pruner raises optuna.TrialPruned (its run: KILLED with a
    `pruned_at_epoch` tag).
    """
    try:
        validate_config(cfg)
    except (ConfigError, DataSourceError) as error:
        # One line and exit code 2, before any MLflow run exists.
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(2)
    try:
        return run_trial(cfg)
    except StoreError as error:
        if current_job() is not None:
            raise  # the sweeper records it as a failure outside the trial and stops the sweep
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
