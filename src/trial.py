"""One trial of the app: train the configured model inside its MLflow run and return its metrics.

Kept apart from src/train.py, which imports it only when a trial runs: TensorFlow takes
seconds to import, and `python -m src.train --help` should not wait for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import keras
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from hydra_plugins.seqsweep_plugins import JobContext, bare_key, current_job, current_trial, mask_secrets, readable_number
from src.data.validation_set import FINGERPRINT_KEY
from src.tracking.model_artifact import log_trained_model
from src.tracking.pruning import PruningReporter
from src.tracking.trial_run import TrialRun
from src.training.backup import claim_backup, config_fingerprint, remove_backup
from src.training.trainer import TrialResult, train


def run_name(cfg: DictConfig, job: JobContext | None) -> str:
    """A trial's MLflow run name: the settings that vary in its sweep, then its trial number
    (`lstm n_train=100 #4`); a single run: the model and its overrides."""
    if job is None:
        overrides = HydraConfig.get().job.override_dirname if HydraConfig.initialized() else ""
        return f"{cfg.model.name} {overrides}".strip()
    keys = [bare_key(text.split("=", 1)[0]) for text in job.varying]
    level = f" level {job.level}" if job.level is not None else ""
    last_parts = [key.rsplit(".", 1)[-1] for key in keys]
    shown = []
    for text, key, last in zip(job.varying, keys, last_parts):
        value = readable_number(text.split("=", 1)[1])
        # A config-group choice (model=lstm) reads best as its value; a nested key by its last
        # part, unless two varying keys share it.
        shown.append(value if "." not in key else f"{last if last_parts.count(last) == 1 else key}={value}")
    return f"{' '.join(shown)} #{job.number}{level}".strip()


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
        # The parent's readable name, for the MLflow UI's "Group by" (sweep_id is an id).
        if "mlflow_parent_run_name" in job.sweep:
            tags["sweep_name"] = job.sweep["mlflow_parent_run_name"]
    return tags


def validation_evidence(cfg: DictConfig, info: dict) -> dict[str, str]:
    """Which examples validated the trial: the mode and the loader's fingerprint of the set."""
    evidence = {"validation": str(cfg.trainer.get("validation", "split"))}
    if info.get(FINGERPRINT_KEY):
        evidence[FINGERPRINT_KEY] = str(info[FINGERPRINT_KEY])
    return evidence


def backup_folder(cfg: DictConfig, job: JobContext | None) -> Path | None:
    """Where a sweep's trial backs up its training state after every epoch: one folder per trial
    (and fidelity level) of the sweep, shared by a lost trial and its rerun, which continues from
    it. None where no rerun would continue it (outside a sweep, or a launcher that does not rerun
    lost trials: Hydra's basic one) or with `trainer.backup=false`."""
    if job is None or not job.rerun_if_lost or not cfg.trainer.get("backup", True):
        return None
    root = cfg.trainer.get("backup_dir") or Path(HydraConfig.get().sweep.dir) / "backups"
    sweep = job.sweep.get("mlflow_parent_run_id", "sweep")
    origin = job.tags.get("retry_of", job.number)
    level = f"-level{job.level}" if job.level is not None else ""
    return Path(root) / str(sweep) / f"trial-{origin}{level}"


def _train_in_run(
    cfg: DictConfig,
    job: JobContext | None,
    name: str,
    parent: str | None,
    trial: Any,
    callbacks: Sequence[keras.callbacks.Callback],
    verbose: int,
    backup: Path | None,
    backed_up: int,
) -> tuple[TrialResult, dict[str, str]]:
    """Train inside the trial's MLflow run and record what it produced; the result and the
    trial's evidence about itself (which examples validated it, where it resumed)."""
    refit = job is not None and job.refit
    # Tagged as the run is created (one request), so a continued trial that is pruned, fails or is
    # killed at any moment after says where it continued from.
    resumed = {"resumed_after_epoch": str(backed_up)} if backed_up else {}
    with TrialRun(cfg, name, {**run_tags(cfg, job), **resumed}, parent_run_id=parent) as run:
        if trial is not None:
            trial.set_user_attr("mlflow_run_id", run.run_id)
        result = train(cfg, callbacks=[run.epoch_logger(), *callbacks], verbose=verbose, backup_dir=backup)
        evidence = validation_evidence(cfg, result.data.info)
        run.log_result(result.metrics, result.history, result.model, tags=evidence)
        if job is not None and job.level is not None and job.objectives[0] in result.metrics:
            objective = job.objectives[0]
            run.log_levels(objective, {**job.earlier_levels, job.level: result.metrics[objective]})
        if refit:
            log_trained_model(result.model, example_inputs=result.data.x_train[:5])
    return result, evidence


def run_trial(cfg: DictConfig, callbacks: Sequence[keras.callbacks.Callback] = ()) -> dict[str, float]:
    """Train one configured trial inside its MLflow run and print a one-line result.

    Returns the trial's metrics (what the sweepers read their objectives from). Raises whatever
    the trial raised, after the run has been recorded FAILED (KILLED for a trial the Optuna
    pruner stopped). In an Optuna sweep the trial reports every epoch to the study.
    """
    job = current_job()
    trial = current_trial()
    verbose = cfg.trainer.verbose if cfg.trainer.verbose is not None else (0 if job is not None else 2)
    # Optuna prunes single-objective studies only; with a fidelity the pruner's steps are levels, not epochs.
    if trial is not None and job.report_epochs and len(job.objectives) == 1:
        callbacks = [*callbacks, PruningReporter(trial, job.objectives[0])]
    parent = job.sweep.get("mlflow_parent_run_id") if job is not None else None
    refit = job is not None and job.refit
    if refit:
        # The sweep's chosen configuration, trained once more: evaluated once on the full test set.
        with open_dict(cfg):
            cfg.trainer.evaluate_test = True
    name = f"refit {run_name(cfg, job).rsplit(' #', 1)[0]}" if refit else run_name(cfg, job)
    backup = backup_folder(cfg, job)
    backed_up = claim_backup(backup, config_fingerprint(OmegaConf.to_container(cfg, resolve=True))) if backup else 0
    try:
        result, evidence = _train_in_run(cfg, job, name, parent, trial, callbacks, verbose, backup, backed_up)
    finally:
        # Kept until the trial's results are recorded: only a process that dies before leaves it,
        # for the rerun. A trial that ended any other way (failed, pruned, interrupted) is not continued.
        if backup is not None:
            remove_backup(backup)
    m = result.metrics
    if job is not None and not refit:
        # The sweeper names a best only among trials validated on the same examples (conf/config.yaml).
        return {**m, **evidence}  # the sweep prints the trial's end line
    metric = f"test_{cfg.data.get('primary_metric', 'acc')}"
    print(
        f"[trial] {name}: model={cfg.model.name} n_train={int(m['n_train'])} "
        f"n_val={int(m['n_val'])} {metric}={m.get(metric, float('nan')):.4f} (n_test={int(m['n_test'])}) fit={m['fit_seconds']:.1f}s",
        flush=True,
    )
    return m
