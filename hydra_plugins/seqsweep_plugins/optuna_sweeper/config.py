"""Options of `hydra/sweeper=optuna`, registered in Hydra's ConfigStore so typos in keys are refused.

The keys are those of the community `hydra-optuna-sweeper` (sampler, direction, n_trials,
n_jobs, storage, study_name, params) plus `objectives`, `pruner` and `heartbeat_interval`.
"""

# No `from __future__ import annotations` here: Hydra's plugin scanner executes this module
# outside sys.modules, where dataclasses cannot resolve string annotations.
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.seqsweep_plugins.optuna_sweeper.optuna_sweeper.OptunaSweeper"
    # The sweeper builds the sampler and pruner itself (GridSampler needs the search space,
    # and a bad _target_ must give one line, not an instantiation traceback).
    _recursive_: bool = False

    # `_target_` of any optuna.samplers class and its keyword arguments; seed it.
    sampler: Any = field(default_factory=lambda: {"_target_": "optuna.samplers.TPESampler", "seed": None})
    # `_target_` of any optuna.pruners class, or null for no pruning (single objective only).
    pruner: Any = None
    # Metric names from the trial's results, one per direction. A pruned study reports the
    # first one after every epoch, so it must be an epoch metric (val_acc, val_loss, acc, loss).
    objectives: Any = field(default_factory=lambda: ["val_acc"])
    # maximize or minimize, or a list of them (one per objective); two make it multi-objective.
    direction: Any = "maximize"
    # The total number of trials the study should hold (complete, pruned and failed), so a
    # re-run of the same command only runs what is missing.
    n_trials: int = 20
    # Trials asked at once and handed to the launcher as one batch.
    n_jobs: int = 1
    # SQLAlchemy URL of the Optuna study; a relative SQLite path is taken from the working
    # directory, next to the MLflow store. postgresql://user:pass@host/db works as well.
    storage: str = "sqlite:///mlruns/optuna.db"
    # null: derived from the experiment and the swept settings, so the same command resumes.
    study_name: Optional[str] = None
    # Seconds between heartbeats of a running trial; a trial whose heartbeat is older than
    # two intervals is marked FAIL when the study is resumed (null: no heartbeats; a trial of
    # a dead process on this machine is recognised from its process id either way).
    heartbeat_interval: Optional[int] = 60
    # key: Hydra sweep syntax, e.g. `model: choice(lstm, gru)`, `model.units: range(16, 129, 16)`,
    # `optimizer.learning_rate: tag(log, interval(1e-4, 1e-2))`, `model.dropout: 0.0,0.2,0.4`.
    params: Optional[Dict[str, str]] = None


ConfigStore.instance().store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider="seqsweep")
