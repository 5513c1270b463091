"""Per-epoch reports to the job's Optuna trial, so the study's pruner can stop a poor trial early.

The Optuna sweeper hands each job its trial (`hydra_plugins.seqsweep_plugins.current_trial`);
this Keras callback reports the sweep's first objective after every epoch. Training code knows
nothing of it: the trial's tracking attaches it. Written here rather than taken from
optuna-integration's KerasPruningCallback because the run needs the epoch a trial was pruned at,
must not report a diverged epoch (that trial fails, it is not pruned) and never prunes after the
last epoch (the trial is complete by then).
"""

from __future__ import annotations

import math

import keras
import optuna


class TrialPrunedAtEpoch(optuna.TrialPruned):
    """The study's pruner stopped this trial after `epoch` (1-based)."""

    def __init__(self, epoch: int, metric: str, value: float) -> None:
        self.epoch, self.metric, self.value = epoch, metric, value
        super().__init__(f"pruned at epoch {epoch} ({metric}={value:.4f})")

    def __reduce__(self) -> tuple[type, tuple[int, str, float]]:
        # Pickle rebuilds an exception from its `args` (the message alone), which this __init__
        # refuses: a pruned trial of a Ray worker reached the sweeper as a lost trial.
        return type(self), (self.epoch, self.metric, self.value)


class PruningReporter(keras.callbacks.Callback):
    """Reports `metric` to the Optuna trial after every epoch and stops training when the pruner says so.

    Optuna step k is the value after epoch k + 1: Optuna's pruners assume steps start at 0, so
    `n_warmup_steps: 1` means no pruning before the second epoch has ended.
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
