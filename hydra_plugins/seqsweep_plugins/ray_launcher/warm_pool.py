"""Workers that outlive a command: a pool of named, detached Ray actors that keep the trial's
heavy modules (TensorFlow) imported, for `hydra.launcher.keep_warm_s` on a running cluster.

Ray gives each command (each Ray "job") worker processes of its own, so every sweep on a cluster
started once with `ray start` imports TensorFlow again before its first trial: 3-10 s on 2 cores,
for every short sweep. Ray keeps nothing warm across jobs except detached actors, so the trials
run on those: one actor per slot, named after the code and the trial's shape, which the next
command on the cluster finds by name and reuses.

Who owns what (docs/PROCESS-MODEL.md): the pool's actors belong to the cluster, not to a command.
A command uses the actors of its code and shape, creates the ones missing, and replaces an actor
it lost, one that ran `max_calls` trials (recycled: what a long-lived TensorFlow process
accumulates, ~3 MB a trial, is given back) and any actor of the pool left by other code or
another trial shape (it would run stale code, or hold the CPUs this command's actors need). An
actor ends itself once it has had no trial for `keep_warm_s` seconds, so an idle cluster is not
held forever.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hydra_plugins.seqsweep_plugins.ray_launcher import worker

NAMESPACE = "seqsweep"
PREFIX = "seqsweep-warm-"
# Folders never holding the trial's own code: skipped when the code is fingerprinted.
_NOT_CODE = {"__pycache__", "node_modules", "site-packages", "outputs", "multirun", "mlruns"}


def code_fingerprint(folders: Iterable[str | None]) -> str:
    """A short hash of the Python files under `folders` (names, sizes, modification times).

    A warm actor keeps the modules it imported: a command whose code changed since must not run
    its trials there. Hidden folders, virtual environments and run outputs are skipped."""
    digest = hashlib.sha1()
    for folder in sorted({f for f in folders if f and os.path.isdir(f)}):
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".") and d not in _NOT_CODE and not os.path.isfile(os.path.join(root, d, "pyvenv.cfg"))
            )
            for name in sorted(files):
                if name.endswith(".py"):
                    stat = os.stat(os.path.join(root, name))
                    digest.update(
                        f"{os.path.relpath(os.path.join(root, name), folder)}:{stat.st_size}:{stat.st_mtime_ns};".encode()
                    )
    return digest.hexdigest()[:12]


class WarmWorker:
    """The pool's actor: imports the trial's heavy modules when created, then runs one job at a
    time as a task worker would (worker.run_job_in_worker), and ends itself once idle too long."""

    def __init__(self, warm_imports: Sequence[str], keep_warm_s: float) -> None:
        self.keep_warm_s = keep_warm_s
        self.calls = 0
        self._busy = False
        self._last = time.monotonic()
        self._lock = threading.Lock()
        worker.import_modules(warm_imports)
        threading.Thread(target=self._end_when_idle, name="warm-pool-expiry", daemon=True).start()

    def run_job(self, keep_warm_s: float, *job: Any) -> tuple[Any, str, dict[str, Any], int]:
        """Run one job; its JobReturn, node and node info (as the task returns them), and how many
        jobs this actor has run."""
        with self._lock:
            self._busy = True
            self.keep_warm_s = keep_warm_s
            self.calls += 1
        try:
            return (*worker.run_job_in_worker(*job), self.calls)
        finally:
            with self._lock:
                self._busy = False
                self._last = time.monotonic()

    def _end_when_idle(self) -> None:
        # Ray ends an actor from inside one of its calls (ray.actor.exit_actor) or from another
        # process (ray.kill); an idle actor has neither, so its own thread ends the process.
        while True:
            time.sleep(min(5.0, max(self.keep_warm_s / 4, 0.2)))
            with self._lock:
                if not self._busy and time.monotonic() - self._last > self.keep_warm_s:
                    os._exit(0)


class WarmPool:
    """The sweeping process's view of the pool: which actor runs which job, and their replacement."""

    def __init__(
        self,
        slots: int,
        shape: dict[str, Any],
        code: str,
        warm_imports: Sequence[str],
        keep_warm_s: float,
        max_calls: int | None,
    ) -> None:
        import ray

        self._ray = ray
        self._actor_class = ray.remote(WarmWorker)
        self._shape = {key: value for key, value in shape.items() if key != "max_retries"}
        shape_key = hashlib.sha1(repr(sorted(self._shape.items())).encode()).hexdigest()[:6]
        # One pool per code and trial shape: the name says which, so a command finds its own.
        self.prefix = f"{PREFIX}{code}-{shape_key}-"
        self.warm_imports = tuple(warm_imports)
        self.keep_warm_s = keep_warm_s
        self.max_calls = max_calls
        self._busy: dict[Any, Any] = {}  # job's ref -> actor
        self._idle = self._take_pool(slots)
        self.reused = len(self._idle)
        self._idle += [self._new_actor() for _ in range(slots - len(self._idle))]

    def _take_pool(self, slots: int) -> list[Any]:
        """The live actors of this pool (at most `slots`); the pool's actors of other code or
        shape are ended (see the module's docstring)."""
        mine = []
        for entry in self._ray.util.list_named_actors(all_namespaces=True):
            name = entry["name"]
            if entry["namespace"] != NAMESPACE or not name.startswith(PREFIX):
                continue
            try:
                actor = self._ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:  # ended since it was listed
                continue
            if name.startswith(self.prefix) and len(mine) < slots:
                mine.append(actor)
            elif not name.startswith(self.prefix):
                self._ray.kill(actor)
        return mine

    def _new_actor(self) -> Any:
        return self._actor_class.options(
            name=f"{self.prefix}{uuid.uuid4().hex[:8]}",
            namespace=NAMESPACE,
            lifetime="detached",
            max_restarts=0,
            max_concurrency=1,
            **self._shape,
        ).remote(self.warm_imports, self.keep_warm_s)

    def submit(self, *job: Any) -> Any:
        """Start a job on an idle actor (the executor keeps no more jobs running than slots)."""
        actor = self._idle.pop(0)
        ref = actor.run_job.remote(self.keep_warm_s, *job)
        self._busy[ref] = actor
        return ref

    def ended(self, ref: Any, calls: int | None) -> None:
        """The job of `ref` came back (`calls`: its actor's jobs so far; None: the actor is lost)."""
        actor = self._busy.pop(ref)
        if calls is None or (self.max_calls is not None and calls >= self.max_calls):
            if calls is not None:
                self._ray.kill(actor)
            actor = self._new_actor()
        self._idle.append(actor)

    def kill_busy(self) -> None:
        """End the actors running jobs now (Ray cannot force-cancel a call of an actor)."""
        for actor in self._busy.values():
            self._ray.kill(actor)
        self._busy.clear()


def code_folders(task_function: Any) -> list[str | None]:
    """The folders whose code a warm actor keeps imported: the task's checkout and this plugin's."""
    return [worker.code_folder(task_function), str(Path(__file__).resolve().parents[2])]
