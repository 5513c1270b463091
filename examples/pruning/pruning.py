"""A training-like loop that reports every step to its Optuna trial and stops when pruned.

`current_trial()` is the job's trial whichever launcher runs it (Hydra's basic launcher or ours
on Ray); outside an Optuna sweep it is None and the app runs as usual.
"""

import math

import hydra
import optuna
from omegaconf import DictConfig

from hydra_plugins.seqsweep_plugins import current_trial


@hydra.main(version_base=None, config_path="conf", config_name="config")
def train(cfg: DictConfig) -> float:
    trial = current_trial()
    accuracy = 0.0
    for step in range(cfg.steps):
        # A "learning curve" that rises fastest for learning rates near 0.1 (10 ** -1).
        accuracy = 1 - math.exp(-(step + 1) / (1 + 4 * abs(math.log10(cfg.learning_rate) + 1)))
        if trial is not None:
            trial.report(accuracy, step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at step {step}")
    return accuracy


if __name__ == "__main__":
    train()
