"""Options of `hydra/sweeper=optuna`, registered in Hydra's ConfigStore so typos in keys are refused.

The keys are those of the community `hydra-optuna-sweeper` (a `hydra/sweeper/sampler` group with
tpe, random, cmaes, nsgaii, qmc and grid; direction, study_name, storage, n_trials, n_jobs,
max_failure_rate, params, custom_search_space), plus our own: objectives, pruner, timeout,
heartbeat_interval, refit_best, point_check and tracker. docs/optuna-migration.md lists where
the defaults differ on purpose.
"""

# No `from __future__ import annotations` here: OmegaConf reads these dataclasses' annotations
# as types (Optional, Dict) to check the keys and values of the config node.
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

# Plain dicts, not dataclasses: a preset may switch `_target_` to another sampler class and
# keep only the keys that class takes, which a typed node would refuse to merge.
SAMPLERS = {
    "tpe": "optuna.samplers.TPESampler",
    "random": "optuna.samplers.RandomSampler",
    "cmaes": "optuna.samplers.CmaEsSampler",
    "nsgaii": "optuna.samplers.NSGAIISampler",
    "qmc": "optuna.samplers.QMCSampler",
    "grid": "optuna.samplers.GridSampler",
}


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.seqsweep_plugins.optuna_sweeper.plugin.OptunaSweeper"
    # The sweeper builds the sampler and pruner itself (GridSampler needs the search space,
    # and a bad _target_ must give one line, not an instantiation traceback).
    _recursive_: bool = False
    defaults: List[Any] = field(default_factory=lambda: [{"sampler": "tpe"}])

    # `_target_` of any optuna.samplers class and its keyword arguments (the sampler group fills it); seed it.
    # MISSING, not None: the group's choice is merged first, and a None here would replace it.
    sampler: Any = MISSING
    # `_target_` of any optuna.pruners class, or null for no pruning (single objective only).
    pruner: Any = None
    # Names of the values a trial returns, one per direction: the keys read from a returned dict
    # (a trial that returns a float or a list of floats is read in order); null: `value` (or
    # value_0, value_1, ... for several directions). A pruning app reports the first one.
    objectives: Any = None
    # maximize or minimize, or a list of them (one per objective); two make it multi-objective.
    direction: Any = "maximize"
    # Which trials a best (or the Pareto front, or refit_best) may be chosen among:
    # `{size_key, set_key, min_size}` (see the grid sweeper's config). null: every trial.
    best_among: Any = None
    # Modules a worker of a launcher that runs trials in other processes (hydra/launcher=ray)
    # imports before its first trial, while the sweep opens its stores: the trial's heavy modules
    # (TensorFlow), so the first trials start on warm workers. In-process trials import them
    # when the first trial starts.
    warm_imports: List[str] = field(default_factory=list)
    # Trials that end by themselves (complete, pruned, failed) the study should hold, so a re-run
    # of the same command only runs what is missing; lost trials are run again and not counted.
    n_trials: int = 20
    # Trials in flight at once (as many as the launcher can run; one at a time with Hydra's basic launcher).
    n_jobs: int = 1
    # SQLAlchemy URL of the study; null: in memory (no resume). A relative SQLite path is taken
    # from the working directory, next to the MLflow store.
    storage: Optional[str] = "sqlite:///mlruns/optuna.db"
    # null: derived from the preset (or app) and the swept settings, so the same command resumes.
    study_name: Optional[str] = None
    # Seconds between heartbeats of running trials; a trial silent for two intervals is lost.
    heartbeat_interval: Optional[int] = 60
    # Seconds the sweep and its trials wait for the study's database when it cannot be reached
    # (a restart); past that the sweep stops with one line, and the same command resumes it.
    store_outage_s: float = 60
    # key: Hydra sweep syntax, e.g. `model: choice(lstm, gru)`, `model.units: range(16, 129, 16)`,
    # `optimizer.learning_rate: tag(log, interval(1e-4, 1e-2))`, `model.layers: int(interval(1, 4))`.
    params: Optional[Dict[str, str]] = None
    # `module.function(cfg, trial)` that suggests more parameters on each trial (Optuna's define-by-run).
    custom_search_space: Optional[str] = None
    # Stop when more than this share of ended trials failed by themselves (checked from 5 ended); null: off.
    max_failure_rate: Optional[float] = None
    # Compose and check every point, print them (a grid) or the search space and budget (a
    # study), and exit 0 without training or creating a study row, run or sweep folder.
    dry_run: bool = False
    # Seconds after which no new trial starts (running ones finish); null: no limit.
    timeout: Optional[float] = None
    # After the search, train the best configuration once more as a job marked `refit`.
    refit_best: bool = False
    # Training-set size (or any integer setting) as the search's fidelity: each trial climbs the
    # levels min, min x reduction_factor, ..., max of `key`, one job per level, and the pruner
    # (successive halving or Hyperband, resources filled in from here) stops poor ones early;
    # `curve_stop: true` adds the learning-curve rule. Off while `key` is null.
    fidelity: Any = field(
        default_factory=lambda: {"key": None, "min": None, "max": None, "reduction_factor": 3, "curve_stop": False}
    )
    # `module.function` called with each composed point (hydra node removed), or a node
    # `{_target_: module.function, _partial_: true, ...}` with settings for it; raising refuses the point.
    point_check: Any = None
    # `{_target_: ...}` of a hydra_plugins.seqsweep_plugins.SweepTracker subclass.
    tracker: Any = None


store = ConfigStore.instance()
store.store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider="seqsweep")
for name, target in SAMPLERS.items():
    store.store(group="hydra/sweeper/sampler", name=name, node={"_target_": target, "seed": None}, provider="seqsweep")
