"""How a sweeper runs its jobs: submit them, and collect each as it ends.

A launcher that runs jobs asynchronously (ours on Ray) is an `ExecutorLauncher`: it declares
whether its jobs run in the sweeping process and hands out a `TrialExecutor`. Any other Hydra
launcher is wrapped in `InProcessExecutor`, which runs one job at a time through the
launcher's own `launch`. The sweepers only ever talk to `TrialExecutor`, so a slow trial never
holds back the others where the launcher allows it.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hydra.core.utils import JobReturn

from hydra_plugins.seqsweep_plugins.engine.job_context import JobContext, activated


@dataclass
class Job:
    """One job to run: its overrides (as Hydra's launchers take them), its index, its context."""

    overrides: list[str]
    idx: int
    context: JobContext


@dataclass
class JobEnd:
    """A job that ended: Hydra's JobReturn, or `lost` (why) when its worker died before returning."""

    job: Job
    job_return: JobReturn | None = None
    lost: str | None = None
    # The machine (node) that ran it, when the launcher knows.
    node: str | None = None
    # What that node runs (host, python, package versions, git commit of the code), filled by
    # the worker when the launcher knows, so the sweeper can warn when nodes differ.
    node_info: dict[str, Any] | None = None


class TrialExecutor(Protocol):
    # How many jobs may be in flight at once.
    slots: int
    # How often the sweeper may run a trial again whose worker died (0: never).
    max_retries: int

    def submit(self, job: Job) -> None: ...

    def wait(self, timeout: float | None = None) -> list[JobEnd]:
        """Block until at least one submitted job ended (or `timeout` passed); return those that ended."""
        ...

    def in_flight(self) -> int: ...

    def cancel_all(self) -> list[Job]:
        """Stop every job in flight (a signal ends the sweep); return them."""
        ...

    def close(self) -> None: ...


class ExecutorLauncher(abc.ABC):
    """A launcher that runs a sweep's jobs asynchronously (declared by subclassing, never probed)."""

    # Whether jobs run in the sweeping process (an in-memory Optuna study reaches them only then).
    in_process: bool = False

    @abc.abstractmethod
    def executor(self, max_slots: int | None = None, warm_imports: Sequence[str] = ()) -> TrialExecutor:
        """An executor with at most `max_slots` jobs in flight (None: as many as the launcher holds)
        whose workers import `warm_imports` before their first job, when they are other processes."""


def runs_in_process(launcher: Any) -> bool:
    return not isinstance(launcher, ExecutorLauncher) or launcher.in_process


def executor_for(launcher: Any, max_slots: int | None = None, warm_imports: Sequence[str] = ()) -> TrialExecutor:
    """The launcher's own executor when it is an ExecutorLauncher, else one job at a time through `launch`."""
    if isinstance(launcher, ExecutorLauncher):
        return launcher.executor(max_slots, warm_imports)
    return InProcessExecutor(launcher)


class InProcessExecutor:
    """Any Hydra launcher, one job at a time: `wait` runs the oldest submitted job through `launch`."""

    slots = 1
    max_retries = 0

    def __init__(self, launcher: Any) -> None:
        self.launcher = launcher
        self.queue: list[Job] = []
        self.running: Job | None = None
        # The sweep prints its own short line per trial; Hydra's basic launcher would add two more
        # ("Launching 1 jobs locally", then every override of the job, storage URLs included).
        logging.getLogger("hydra._internal.core_plugins.basic_launcher").setLevel(logging.WARNING)

    def submit(self, job: Job) -> None:
        self.queue.append(job)

    def wait(self, timeout: float | None = None) -> list[JobEnd]:
        if not self.queue:
            return []
        job = self.running = self.queue.pop(0)
        with activated(job.context):
            (job_return,) = self.launcher.launch([tuple(job.overrides)], initial_job_idx=job.idx)
        self.running = None
        return [JobEnd(job=job, job_return=job_return)]

    def in_flight(self) -> int:
        return len(self.queue) + (self.running is not None)

    def cancel_all(self) -> list[Job]:
        """The queued jobs, and the one a signal interrupted while it ran in this process."""
        cancelled = ([self.running] if self.running is not None else []) + self.queue
        self.queue, self.running = [], None
        return cancelled

    def close(self) -> None:
        pass
