"""`hydra/launcher=ray`: a Hydra Launcher whose jobs run as Ray tasks, asynchronously.

The sweepers call `executor()` and keep its slots busy, collecting each job as it ends; Hydra's
own sweepers call `launch(...)`, which submits a batch and returns it in order. Either way each
job runs in a long-lived Ray worker that imports TensorFlow once and is reused for later jobs
(measured on 2 cores: a fresh process per trial costs ~5 s of Python and TensorFlow start-up
and gave no speed-up over one process).

Ray is imported only when jobs are about to run (executor.py), never when this module is imported.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.utils import (
    JobReturn,
    configure_log,
    filter_overrides,
    setup_globals,
)
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError
from hydra_plugins.seqsweep_plugins.engine.executor import ExecutorLauncher, Job
from hydra_plugins.seqsweep_plugins.engine.outcome import failed_return
from hydra_plugins.seqsweep_plugins.ray_launcher.config import RayLauncherConf

if TYPE_CHECKING:
    from hydra_plugins.seqsweep_plugins.ray_launcher.executor import RayExecutor

log = logging.getLogger(__name__)


class RayLauncher(Launcher, ExecutorLauncher):
    # Jobs run in other processes (maybe other machines): an in-memory Optuna study cannot reach them.
    in_process = False

    def __init__(
        self,
        address: str | None = None,
        max_concurrent: int | None = None,
        cpus_per_trial: float = 1,
        gpus_per_trial: float = 0,
        max_retries: int = 1,
        max_calls: int | None = RayLauncherConf.max_calls,
        keep_warm_s: float | None = None,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.address = address
        self.max_concurrent = max_concurrent
        self.cpus_per_trial = cpus_per_trial
        self.gpus_per_trial = gpus_per_trial
        self.max_retries = max_retries
        self.max_calls = max_calls
        self.keep_warm_s = keep_warm_s
        self.init_kwargs = dict(init_kwargs or {})
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None
        self._batch_executor: RayExecutor | None = None

    def setup(
        self,
        *,
        hydra_context: HydraContext,
        task_function: TaskFunction,
        config: DictConfig,
    ) -> None:
        # Checked here rather than in __init__: Hydra wraps errors raised while instantiating a
        # plugin in a multi-line message, and a bad setting must read as one line.
        _check_settings(self)
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def executor(self, max_slots: int | None = None, warm_imports: Sequence[str] = ()) -> RayExecutor:
        """Start (or join) Ray and return a TrialExecutor that runs this sweep's jobs on it, at most
        `max_slots` at once; its workers start importing `warm_imports` at once (see RayExecutor)."""
        from hydra_plugins.seqsweep_plugins.ray_launcher.executor import RayExecutor

        assert self.config is not None and self.hydra_context is not None and self.task_function is not None, "setup() first"
        return RayExecutor(self, self.config, self.hydra_context, self.task_function, max_slots, warm_imports)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        """Hydra's batch interface: run every job (as many at once as the slots allow), return them in order."""
        assert self.config is not None, "setup() first"
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        # One executor for every batch Hydra's sweeper hands over: Ray starts once per sweep.
        if self._batch_executor is None:
            self._batch_executor = self.executor()
        executor = self._batch_executor
        log.info(f"Launching {len(job_overrides)} jobs on Ray ({executor.slots} at a time)")
        # No sweep of ours describes these jobs (Hydra's own sweepers call launch): no JobContext.
        jobs = [
            Job(overrides=list(overrides), idx=initial_job_idx + i, context=None) for i, overrides in enumerate(job_overrides)
        ]  # type: ignore[arg-type]
        for job in jobs:
            log.info(f"\t#{job.idx} : {' '.join(filter_overrides(job.overrides))}")
            executor.submit(job)
        returns: dict[int, JobReturn] = {}
        while executor.in_flight():
            for end in executor.wait():
                if end.job_return is not None:
                    returns[end.job.idx] = end.job_return
                else:
                    lost = RuntimeError(f"the job's worker was lost: {end.lost}")
                    returns[end.job.idx] = failed_return(end.job.overrides, lost)
        return [returns[job.idx] for job in jobs]


def _check_settings(launcher: RayLauncher) -> None:
    if not isinstance(launcher.cpus_per_trial, (int, float)) or launcher.cpus_per_trial <= 0:
        raise ConfigError("hydra.launcher.cpus_per_trial", _typed(launcher.cpus_per_trial), "a number > 0")
    gpus = launcher.gpus_per_trial
    if not isinstance(gpus, (int, float)) or gpus < 0 or (gpus > 1 and gpus != int(gpus)):
        raise ConfigError(
            "hydra.launcher.gpus_per_trial",
            _typed(gpus),
            "0, a fraction below 1 (trials share a GPU) or a whole number of GPUs",
        )
    if launcher.max_concurrent is not None and (not isinstance(launcher.max_concurrent, int) or launcher.max_concurrent < 1):
        raise ConfigError(
            "hydra.launcher.max_concurrent",
            launcher.max_concurrent,
            "null (as many as the cluster holds) or a whole number >= 1",
        )
    if not isinstance(launcher.max_retries, int) or launcher.max_retries < 0:
        raise ConfigError("hydra.launcher.max_retries", launcher.max_retries, "a whole number >= 0")
    if launcher.max_calls is not None and (not isinstance(launcher.max_calls, int) or launcher.max_calls < 1):
        raise ConfigError(
            "hydra.launcher.max_calls", launcher.max_calls, "null (a worker is never replaced) or a whole number >= 1"
        )
    _check_keep_warm(launcher)
    if importlib.util.find_spec("ray") is None:
        raise ValueError("hydra/launcher=ray is not allowed: Ray is not installed (pip install -e '.[ray]')")
    if launcher.address is not None and not str(launcher.address).strip():
        raise ConfigError(
            "hydra.launcher.address", launcher.address, "null (a local Ray on this machine), auto, or HOST:PORT of a Ray head"
        )


def _check_keep_warm(launcher: RayLauncher) -> None:
    keep_warm_s = launcher.keep_warm_s
    if keep_warm_s is None:
        return
    if isinstance(keep_warm_s, bool) or not isinstance(keep_warm_s, (int, float)) or keep_warm_s <= 0:
        raise ConfigError("hydra.launcher.keep_warm_s", _typed(keep_warm_s), "null or a number of seconds > 0")
    if launcher.address is None:
        raise ConfigError(
            "hydra.launcher.keep_warm_s",
            _typed(keep_warm_s),
            "null when hydra.launcher.address is null (the command's own Ray ends with it); "
            "workers stay warm on a cluster started with `ray start` (address=auto or HOST:PORT)",
        )


def _typed(value: Any) -> Any:
    """A float setting as typed: the typed config turns `cpus_per_trial=0` into 0.0."""
    return f"{value:g}" if isinstance(value, float) else value
