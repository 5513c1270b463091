"""Options of `hydra/sweeper=grid` (sweeper.py), registered in Hydra's ConfigStore so typos in keys are refused."""

# No `from __future__ import annotations` here: OmegaConf reads these dataclasses' annotations
# as types (Optional, Dict) to check the keys and values of the config node.
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class GridSweeperConf:
    _target_: str = "hydra_plugins.seqsweep_plugins.grid.sweeper.GridSweeper"
    # The tracker is built by the sweeper, after the settings are checked.
    _recursive_: bool = False
    # key: Hydra sweep syntax (`a,b,c`, `range(...)`, `choice(...)`), merged before the command line's.
    params: Optional[Dict[str, str]] = None
    # Accepted for Hydra basic-sweeper configs; trials are not batched here.
    max_batch_size: Optional[int] = None
    # `module.function` called with each composed point (hydra node removed), or a node
    # `{_target_: module.function, _partial_: true, ...}` with settings for it; raising refuses the point.
    point_check: Any = None
    # `{_target_: ...}` of a hydra_plugins.seqsweep_plugins.SweepTracker subclass.
    tracker: Any = None
    # What the progress lines show as each trial's result and best so far (a key of a returned
    # dict; null: the returned number). A grid needs no objective: trials without it still run.
    objectives: Any = None
    direction: Any = "maximize"
    # Which trials a best may be named among: `{size_key, set_key, min_size}`, keys of a returned
    # dict saying how many examples and which ones the objective was measured on; a trial measured
    # on fewer than min_size, or on another set than most trials, is never the best. null: every trial.
    best_among: Any = None
    # Modules a worker of a launcher that runs trials in other processes (hydra/launcher=ray)
    # imports before its first trial, while the sweep opens its stores: the trial's heavy modules
    # (TensorFlow), so the first trials start on warm workers. In-process trials import them
    # when the first trial starts.
    warm_imports: List[str] = field(default_factory=list)
    # Resume a grid sweep that did not finish: `last` (the newest unfinished sweep of the same
    # command) or its parent run id; only points without a finished trial run. `never`: start anew
    # even when an unfinished sweep of the same command exists. Needs a tracker that keeps records.
    resume: Optional[str] = None
    # Compose and check every point, print them (a grid) or the search space and budget (a
    # study), and exit 0 without training or creating a study row, run or sweep folder.
    dry_run: bool = False
    # Seconds after which no new trial starts (running ones finish); null: no limit.
    timeout: Optional[float] = None
    # Stop when more than this share of ended trials failed by themselves (checked from 5 ended); null: off.
    max_failure_rate: Optional[float] = None


ConfigStore.instance().store(group="hydra/sweeper", name="grid", node=GridSweeperConf, provider="seqsweep")
