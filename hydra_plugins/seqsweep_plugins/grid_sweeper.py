"""`hydra/sweeper=grid`: every combination of the swept values, each point checked before the first trial.

Hydra's basic sweeper expands the grid the same way, but launches it in blocking batches, has no
point check, no tracker and stops at the first failed job. This one composes every point (and
runs the app's point check on it) before anything runs, then keeps the launcher's slots busy and
records each trial as it ends (_loop.py). `validated_basic` is the same sweeper under the
name earlier versions used.
"""

# No `from __future__ import annotations` here: Hydra's plugin scanner executes this module
# outside sys.modules, where dataclasses cannot resolve string annotations.
from dataclasses import dataclass
from typing import Any, Dict, Optional

from hydra.core.config_store import ConfigStore

# Imported so Hydra's plugin scan registers the sweeper class (its code imports nothing heavy).
from hydra_plugins.seqsweep_plugins._grid import GridSweeperImpl  # noqa: F401


@dataclass
class GridSweeperConf:
    _target_: str = "hydra_plugins.seqsweep_plugins._grid.GridSweeperImpl"
    # The tracker is built by the sweeper, after the settings are checked.
    _recursive_: bool = False
    # key: Hydra sweep syntax (`a,b,c`, `range(...)`, `choice(...)`), merged before the command line's.
    params: Optional[Dict[str, str]] = None
    # Accepted for Hydra basic-sweeper configs; trials are not batched here.
    max_batch_size: Optional[int] = None
    # `module.function` called with each composed point (hydra node removed); raising refuses it.
    point_check: Optional[str] = None
    # `{_target_: ...}` of a hydra_plugins.seqsweep_plugins.hooks.SweepTracker subclass.
    tracker: Any = None
    # What the progress lines show as each trial's result and best so far (a key of a returned
    # dict; null: the returned number). A grid needs no objective: trials without it still run.
    objectives: Any = None
    direction: Any = "maximize"
    # Resume a grid sweep that did not finish: `last` (the newest unfinished sweep of the same
    # command) or its parent run id; only points without a finished trial run. `never`: start anew
    # even when an unfinished sweep of the same command exists. Needs a tracker that keeps records.
    resume: Optional[str] = None
    # Seconds after which no new trial starts (running ones finish); null: no limit.
    timeout: Optional[float] = None
    # Stop when more than this share of ended trials failed by themselves (checked from 5 ended); null: off.
    max_failure_rate: Optional[float] = None


ConfigStore.instance().store(group="hydra/sweeper", name="grid", node=GridSweeperConf, provider="seqsweep")
ConfigStore.instance().store(group="hydra/sweeper", name="validated_basic", node=GridSweeperConf, provider="seqsweep")
