"""How a sweeper runs its jobs: submit them, and collect each as it ends.

A launcher that can run jobs asynchronously (ours on Ray) offers `executor(...)` returning a
`TrialExecutor`; for any other Hydra launcher the sweepers wrap it in `InProcessExecutor`, which
runs one job at a time through the launcher's own `launch`. The sweepers only ever talk to this
interface, so a slow trial never holds back the others where the launcher allows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from hydra.core.utils import JobReturn

from hydra_plugins.seqsweep_plugins._job import JobContext, activated


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

    def submit(self, job: Job) -> None: ...

    def wait(self, timeout: float | None = None) -> list[JobEnd]:
        """Block until at least one submitted job ended (or `timeout` passed); return those that ended."""
        ...

    def in_flight(self) -> int: ...

    def cancel_all(self) -> list[Job]:
        """Stop every job in flight (a signal ends the sweep); return them."""
        ...

    def close(self) -> None: ...


class InProcessExecutor:
    """Any Hydra launcher, one job at a time: `wait` runs the oldest submitted job through `launch`."""

    slots = 1
    in_process = True

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
