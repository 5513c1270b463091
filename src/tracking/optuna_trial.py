"""A trial's side of an Optuna sweep (`hydra/sweeper=optuna`): which study trial this job is,
the links between that trial and its MLflow run, and per-epoch reports that let the study's
pruner stop it.

The sweeper names the trial in the job's environment (through `hydra.job.env_set`, so it
works with any launcher); the trial opens it from the study's storage. Training code knows
nothing of this: it only runs the Keras callback made here.
"""

from __future__ import annotations

import math
import os

import keras
import optuna
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate

STUDY_ENV = "SEQSWEEP_OPTUNA_STUDY"
STORAGE_ENV = "SEQSWEEP_OPTUNA_STORAGE"
TRIAL_ID_ENV = "SEQSWEEP_OPTUNA_TRIAL_ID"
# The epoch metric to report to the trial; empty when the study cannot take reports (two objectives).
REPORT_ENV = "SEQSWEEP_OPTUNA_REPORT"


class TrialPrunedAtEpoch(optuna.TrialPruned):
    """The study's pruner stopped this trial after `epoch` (1-based)."""

    def __init__(self, epoch: int, metric: str, value: float) -> None:
        self.epoch = epoch
        super().__init__(f"pruned at epoch {epoch} ({metric}={value:.4f})")


class PruningReporter(keras.callbacks.Callback):
    """Reports `metric` to the Optuna trial after every epoch and stops training when the pruner says so.

    Optuna step k is the value after epoch k + 1: Optuna's pruners assume steps start at 0, so
    `n_warmup_steps: 1` means no pruning before the second epoch has ended. A diverged epoch
    (non-finite loss) is not reported: the trial is about to fail, not be pruned. The last
    epoch is reported but never pruned, since the trial is complete by then anyway.
    """

    def __init__(self, trial: optuna.Trial, metric: str) -> None:
        super().__init__()
        self.trial = trial
        self.metric = metric

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.metric not in logs or not math.isfinite(float(logs.get("loss", 0.0))):
            return
        value = float(logs[self.metric])
        self.trial.report(value, step=epoch)
        if epoch + 1 < self.params.get("epochs", epoch + 2) and self.trial.should_prune():
            raise TrialPrunedAtEpoch(epoch + 1, self.metric, value)


class StudyTrial:
    """The Optuna trial this job runs, opened from the study's storage."""

    def __init__(self, trial: optuna.Trial, report_metric: str | None) -> None:
        self.trial = trial
        self.report_metric = report_metric

    @classmethod
    def from_environment(cls) -> StudyTrial | None:
        """The trial named by the sweeper, or None outside an Optuna sweep."""
        trial_id = os.environ.get(TRIAL_ID_ENV)
        if not trial_id:
            return None
        study = optuna.load_study(
            study_name=os.environ[STUDY_ENV],
            storage=os.environ[STORAGE_ENV],
            sampler=optuna.samplers.RandomSampler(),  # never used: the sweeper samples
            pruner=_configured_pruner(),
        )
        return cls(optuna.trial.Trial(study, int(trial_id)), os.environ.get(REPORT_ENV) or None)

    def mlflow_tags(self) -> dict[str, str]:
        """Tags of the trial's MLflow run; `optuna_worker` lets a resumed study close runs of a dead process."""
        return {
            "optuna_study": self.trial.study.study_name,
            "optuna_trial": str(self.trial.number),
            "optuna_worker": str(self.trial.user_attrs.get("worker", "")),
        }

    def link_run(self, run_id: str) -> None:
        self.trial.set_user_attr("mlflow_run_id", run_id)

    def callbacks(self) -> list[keras.callbacks.Callback]:
        return [PruningReporter(self.trial, self.report_metric)] if self.report_metric else []


def _configured_pruner() -> optuna.pruners.BasePruner:
    """The sweeper's `pruner` (checked by the sweeper before the first trial); none: never prune."""
    settings = HydraConfig.get().sweeper.get("pruner") if HydraConfig.initialized() else None
    return instantiate(settings) if settings else optuna.pruners.NopPruner()
