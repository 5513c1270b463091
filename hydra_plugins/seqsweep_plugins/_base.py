"""What both sweepers share: the launcher and its executor, the app's hooks, the sweep folder."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, ListConfig, OmegaConf

from hydra_plugins.seqsweep_plugins._console import SweepConfigError
from hydra_plugins.seqsweep_plugins._points import PointComposer
from hydra_plugins.seqsweep_plugins.executor import InProcessExecutor, TrialExecutor
from hydra_plugins.seqsweep_plugins.hooks import SweepTracker, load_point_check, load_tracker
from hydra_plugins.seqsweep_plugins.secrets import mask_values

DIRECTIONS = ("maximize", "minimize")


class SweeperBase(Sweeper):
    """Setup and settings common to the grid and Optuna sweepers."""

    def __init__(
        self,
        point_check: str | None = None,
        tracker: Any = None,
        objectives: Any = None,
        direction: Any = "maximize",
        timeout: float | None = None,
        max_failure_rate: float | None = None,
    ) -> None:
        self.point_check_name = point_check
        self.tracker_cfg = tracker
        self.directions = [str(getattr(d, "name", d)) for d in as_list(direction)]
        # Unnamed objectives (an app that returns a float or a list of floats) are called value, value_0, ...
        self.objectives = (
            as_list(objectives)
            if objectives is not None
            else (["value"] if len(self.directions) == 1 else [f"value_{i}" for i in range(len(self.directions))])
        )
        self.timeout = timeout
        self.max_failure_rate = max_failure_rate
        self.job_overrides: list[str] = []

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )

    # -- shared steps ----------------------------------------------------------------------------

    def check_settings(self) -> None:
        """The settings both sweepers have; raises SweepConfigError naming the key."""
        if len(self.objectives) != len(self.directions):
            raise SweepConfigError(
                "hydra.sweeper.direction",
                f"[{', '.join(self.directions)}]",
                f"one direction per objective; hydra.sweeper.objectives has {len(self.objectives)}: [{', '.join(self.objectives)}]",
            )
        if not self.objectives:
            raise SweepConfigError(
                "hydra.sweeper.objectives", "[]", "one or more metric names, e.g. [val_acc] or [val_acc, fit_seconds]"
            )
        for direction in self.directions:
            if direction not in DIRECTIONS:
                raise SweepConfigError("hydra.sweeper.direction", direction, "maximize or minimize, or a list of them")
        if self.timeout is not None and (
            isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float)) or self.timeout <= 0
        ):
            raise SweepConfigError("hydra.sweeper.timeout", self.timeout, "null or a number of seconds > 0")
        rate = self.max_failure_rate
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1):
            raise SweepConfigError("hydra.sweeper.max_failure_rate", rate, "null (off) or a share of ended trials in [0, 1]")

    def load_hooks(self) -> tuple[PointComposer, SweepTracker]:
        composer = PointComposer(self.hydra_context, self.config, load_point_check(self.point_check_name))
        return composer, load_tracker(self.tracker_cfg)

    def executor(self) -> TrialExecutor:
        """The launcher's own executor when it has one (ours on Ray), else one job at a time through `launch`."""
        make = getattr(self.launcher, "executor", None)
        return make() if callable(make) else InProcessExecutor(self.launcher)

    def label(self) -> str:
        """The preset's name (+sweeps=NAME), else the app's job name."""
        return str(
            OmegaConf.select(self.config, "hydra.runtime.choices.sweeps")
            or OmegaConf.select(self.config, "hydra.job.name")
            or "sweep"
        )

    def save_sweep_config(self) -> Path:
        """The sweep folder with its multirun.yaml (as Hydra's basic sweeper writes it, passwords masked).

        Two sweeps started in the same second would share `multirun/<date>/<time>`: the first to
        claim the folder (an exclusive create of `.sweep_owner`) keeps it, a later one takes
        `<time>-2`, `<time>-3`, ... and every job of that sweep follows it there."""
        base = Path(str(self.config.hydra.sweep.dir))
        sweep_dir, suffix = base, 1
        while True:
            sweep_dir.mkdir(parents=True, exist_ok=True)
            try:
                with open(sweep_dir / ".sweep_owner", "x") as owner:
                    owner.write(f"{socket.gethostname()}:{os.getpid()}\n")
                break
            except FileExistsError:
                suffix += 1
                sweep_dir = base.with_name(f"{base.name}-{suffix}")
        # Jobs compose their config anew from the command line, so they learn the folder from an override.
        self.job_overrides = [] if sweep_dir == base else [f"hydra.sweep.dir={sweep_dir}"]
        masked = mask_values(OmegaConf.to_container(self.config, resolve=False))
        OmegaConf.save(OmegaConf.create(masked), sweep_dir / "multirun.yaml")
        return sweep_dir


def as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, ListConfig)):
        return [str(v) for v in value]
    return [str(value)]


def bare_key(key: str) -> str:
    """`+model.units` -> `model.units`: the key without Hydra's add/force-add/delete prefix."""
    return key.lstrip("+~")
