"""A launcher for benchmarks/scale_sim.py: trials that take no time, in as many slots as asked.

Chosen on the command line in place of Ray's (`hydra/launcher=ray
hydra.launcher._target_=hydra_plugins.scale_sim.instant_launcher.InstantLauncher`), so it takes the Ray
launcher's settings and the sweeper treats it as a launcher whose jobs run in other processes.
Each job's config is composed in the sweeping process as the Ray executor does, then the job
"ends" at once with made-up metrics. What is left is the sweeper's own cost per trial (ask,
budget lock, point check, compose, tell, progress line), which the executor times: each
submit and end, written as JSON lines to $SCALE_SIM_OUT when the sweep closes it.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

from hydra_plugins.seqsweep_plugins import ExecutorLauncher, Job, JobEnd


class InstantLauncher(Launcher, ExecutorLauncher):
    in_process = False

    def __init__(self, max_concurrent: int | None = None, **ray_settings: Any) -> None:
        self.max_concurrent = max_concurrent or 8
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        raise NotImplementedError("the instant launcher serves seqsweep's sweepers only")

    def executor(self, max_slots: int | None = None, warm_imports: Sequence[str] = ()) -> InstantExecutor:
        slots = self.max_concurrent if max_slots is None else min(self.max_concurrent, max_slots)
        return InstantExecutor(self.config, self.hydra_context, slots)


class InstantExecutor:
    max_retries = 0

    def __init__(self, config: DictConfig, hydra_context: HydraContext, slots: int) -> None:
        self.config, self.hydra_context, self.slots = config, hydra_context, slots
        self.ended: list[JobEnd] = []
        self.rng = random.Random(0)
        self.timings: list[dict[str, float]] = []
        self.started = time.perf_counter()

    def submit(self, job: Job) -> None:
        began = time.perf_counter()
        config = self.hydra_context.config_loader.load_sweep_config(self.config, list(job.overrides))
        with open_dict(config):
            config.hydra.job.id = job.idx
        composed = time.perf_counter() - began
        value = {"val_acc": self.rng.random(), "n_val": 1000, "validation_fingerprint": "simulated"}
        job_return = JobReturn(overrides=list(job.overrides), status=JobStatus.COMPLETED)
        job_return.return_value = value
        self.ended.append(JobEnd(job=job, job_return=job_return))
        self.timings.append({"submitted": began - self.started, "compose_s": composed})

    def wait(self, timeout: float | None = None) -> list[JobEnd]:
        ended, self.ended = self.ended, []
        return ended

    def in_flight(self) -> int:
        return len(self.ended)

    def cancel_all(self) -> list[Job]:
        cancelled = [end.job for end in self.ended]
        self.ended = []
        return cancelled

    def close(self) -> None:
        path = os.environ.get("SCALE_SIM_OUT")
        if path:
            with open(path, "w") as out:
                out.writelines(json.dumps(t) + "\n" for t in self.timings)
