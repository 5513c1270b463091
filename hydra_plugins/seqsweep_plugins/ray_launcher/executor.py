"""The sweeping process's side of `hydra/launcher=ray`: join or start Ray, submit jobs, collect ends.

Each job is one Ray task of `worker.run_job_in_worker`, with Ray's own `max_retries=0`: a task
whose worker or node died comes back as a `JobEnd` with `lost` set, and the sweeper decides
whether to run the trial again as a new, recorded trial. What every job shares (the task
function, Hydra's context and singletons) is put in Ray's object store once per executor.
"""

from __future__ import annotations

import logging
import math
import os
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hydra.core.singleton import Singleton
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from hydra_plugins.seqsweep_plugins.engine.console import verbose_about
from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError, first_line
from hydra_plugins.seqsweep_plugins.engine.executor import Job, JobEnd
from hydra_plugins.seqsweep_plugins.engine.outcome import failed_return
from hydra_plugins.seqsweep_plugins.ray_launcher import worker
from hydra_plugins.seqsweep_plugins.ray_launcher.ray_private import treat_as_single_machine
from hydra_plugins.seqsweep_plugins.ray_launcher.warm_pool import WarmPool, code_fingerprint, code_folders

if TYPE_CHECKING:
    from hydra_plugins.seqsweep_plugins.ray_launcher.launcher import RayLauncher

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# Ray reads this when `ray` is imported: "0" keeps a local Ray on loopback on Linux too.
LOCAL_ONLY_VARIABLE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def connect(address: str | None, init_kwargs: dict[str, Any], worker_env: dict[str, str] | None = None) -> bool:
    """Join the Ray at `address`, or start one on this machine; True when this call started or joined it.

    A Ray started here gives its workers `worker_env`. Nothing happens when this process is
    already connected (a test's cluster, a second sweep).
    """
    ray = _ray()
    if ray.is_initialized():
        return False
    # log_to_driver off: each trial's console output goes to its console.log and MLflow run; on the
    # sweep's console it would interleave the trials' epoch lines with the progress lines. Ray's
    # own start-up lines ("Started a local Ray instance", its advice on token authentication)
    # only with hydra.verbose=ray.
    level = logging.DEBUG if verbose_about("ray") else logging.ERROR
    init_kwargs = {"log_to_driver": False, "logging_level": level, **init_kwargs}
    if address is not None and not _is_loopback(address):
        ray.init(address=address, **init_kwargs)
        return True
    # On Linux Ray binds most of its ports to the machine's network address (or 0.0.0.0) even with
    # _node_ip_address=127.0.0.1, and rewrites a 127.0.0.1 address it is given into that network
    # address, unless it believes it runs a single-machine Ray (as on macOS): that belief is this
    # variable, read when ray is imported, and inherited by the Ray processes this one starts.
    started_env = {LOCAL_ONLY_VARIABLE: "0", **(worker_env or {} if address is None else {})}
    previous = {key: os.environ.get(key) for key in started_env}
    os.environ.update(started_env)
    try:
        treat_as_single_machine()
        kwargs = {"_node_ip_address": LOOPBACK, **init_kwargs}
        if address is None:
            # "local": a Ray of our own even when RAY_ADDRESS or /tmp/ray names another one. No
            # dashboard: one process less on a laptop (init_kwargs.include_dashboard=true for one).
            ray.init(address="local", **{"include_dashboard": False, **kwargs})
        else:
            # A head started on this machine with `ray start --node-ip-address=127.0.0.1`.
            ray.init(address=address, **kwargs)
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return True


def _is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]") if ":" in address else address
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _ray() -> Any:
    import ray

    return ray


class RayExecutor:
    """A TrialExecutor on Ray: `submit` starts a task at once while slots are free, `wait` collects ends."""

    # Jobs run in other processes: they open their Optuna trial from the study's storage.
    in_process = False

    def __init__(
        self,
        launcher: RayLauncher,
        config: DictConfig,
        hydra_context: HydraContext,
        task_function: TaskFunction,
        max_slots: int | None = None,
        warm_imports: Sequence[str] = (),
    ) -> None:
        ray = _ray()
        self.config = config
        self.hydra_context = hydra_context
        self.max_retries = launcher.max_retries
        thread_env = _thread_env(launcher.cpus_per_trial, launcher.gpus_per_trial)
        self._started_ray = connect(launcher.address, launcher.init_kwargs, thread_env)
        # A Ray started here gave every worker the thread settings already (workers inherit the
        # environment Ray starts with), so the workers Ray prestarts can serve the trials; a
        # runtime env would make Ray start other workers for it. (Measured on 2 cores: no clear
        # difference in a 45-s sweep; docs/benchmarks.md.)
        own_local_ray = self._started_ray and launcher.address is None
        held = _slots(launcher, ray.cluster_resources(), ray.nodes())
        self.slots = held if max_slots is None else max(min(held, max_slots), 1)
        # What every job shares, stored once: the task function (pickled by Ray's cloudpickle, so
        # a function of a script's __main__ travels by value), Hydra's context (config loader,
        # callbacks) and Hydra's singletons (ConfigStore, JobRuntime, resolvers): what the
        # worker needs to run a job with run_job, as Hydra's own launchers do.
        self._shared = ray.put((hydra_context, task_function, Singleton.get_state()))
        self._cwd = os.getcwd()
        self._code_folder = worker.code_folder(task_function)
        # max_calls is a property of the remote function (Ray refuses it in .options()); Ray's own
        # default, 0, is a worker that is never replaced.
        # Warm-up tasks are shaped like the trials (resources, environment), so Ray hands the
        # trials the very workers that ran them.
        shape = {
            "num_cpus": launcher.cpus_per_trial,
            "num_gpus": launcher.gpus_per_trial,
            # Never retried by Ray: a lost trial is rerun by the sweeper as a new, recorded trial.
            "max_retries": 0,
            "runtime_env": None if own_local_ray else {"env_vars": thread_env},
        }
        self._task = ray.remote(max_calls=launcher.max_calls or 0)(worker.run_job_in_worker).options(**shape)
        self._warm_imports = tuple(warm_imports)
        # keep_warm_s: the trials run on a pool of detached actors that outlive this command; an
        # actor imports the warm modules when it is created, so no warm-up tasks.
        self._pool = (
            None
            if launcher.keep_warm_s is None
            else WarmPool(
                self.slots,
                shape,
                code_fingerprint(code_folders(task_function)),
                self._warm_imports,
                float(launcher.keep_warm_s),
                launcher.max_calls,
            )
        )
        self._warming = self._warm_up(ray, shape) if self._pool is None else []
        self._running: dict[Any, Job] = {}
        self._waiting: deque[Job] = deque()

    def _warm_up(self, ray: Any, shape: dict[str, Any]) -> list[Any]:
        """One task per slot that imports the trial's heavy modules, submitted now: the workers
        import them while the sweep opens its stores and starts its records, and the first trials,
        queued behind these tasks, start on those workers with the modules imported (a worker
        imports a module once: Ray reuses it for the sweep's later tasks)."""
        if not self._warm_imports:
            return []
        task = ray.remote(worker.import_modules).options(**shape)
        return [task.remote(self._warm_imports) for _ in range(self.slots)]

    def submit(self, job: Job) -> None:
        self._waiting.append(job)
        self._start_waiting()

    def wait(self, timeout: float | None = None) -> list[JobEnd]:
        ray = _ray()
        self._settle_warm_ups(ray)
        if not self._running:
            return []
        ready, _ = ray.wait(list(self._running), num_returns=1, timeout=timeout)
        if ready:
            # Report every job that has ended by now, not only the first.
            ready, _ = ray.wait(list(self._running), num_returns=len(self._running), timeout=0)
        ends = [self._collect(ref) for ref in ready]
        self._start_waiting()
        return ends

    def in_flight(self) -> int:
        return len(self._running) + len(self._waiting)

    def cancel_all(self) -> list[Job]:
        ray = _ray()
        cancelled = list(self._waiting)
        self._waiting.clear()
        for ref, job in list(self._running.items()):
            # force: kill the worker; a trial stuck in native code ignores a KeyboardInterrupt.
            if self._pool is None:
                ray.cancel(ref, force=True)
            cancelled.append(job)
        if self._pool is not None:
            self._pool.kill_busy()
        self._running.clear()
        return cancelled

    def _settle_warm_ups(self, ray: Any) -> None:
        """Collect the warm-ups that ended. One whose worker died (a node lost while it started)
        is of no consequence, but Ray reports an error nobody read as a traceback when its
        reference goes: reading it here keeps the sweep's console to its own lines."""
        if not self._warming or not ray.is_initialized():
            return
        ended, self._warming = ray.wait(self._warming, num_returns=len(self._warming), timeout=0)
        for ref in ended:
            try:
                ray.get(ref)
            except ray.exceptions.RayError:
                pass

    def close(self) -> None:
        self._settle_warm_ups(_ray())
        if self._started_ray:
            _ray().shutdown()
            self._started_ray = False

    def _start_waiting(self) -> None:
        while self._waiting and len(self._running) < self.slots:
            job = self._waiting.popleft()
            # Composed here, in the sweeping process, like Hydra's basic launcher does: the sweep
            # config carries the resolved `now` of hydra.sweep.dir, so every job lands in one folder.
            sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(job.overrides))
            with open_dict(sweep_config):
                sweep_config.hydra.job.id = job.idx
                sweep_config.hydra.job.num = job.idx
            _resolve_in_sweeping_process(sweep_config)
            args = (self._shared, sweep_config, job.context, self._cwd, self._code_folder, self._warm_imports)
            ref = self._task.remote(*args) if self._pool is None else self._pool.submit(*args)
            self._running[ref] = job

    def _collect(self, ref: Any) -> JobEnd:
        ray = _ray()
        job = self._running.pop(ref)
        try:
            job_return, node, node_info, *calls = ray.get(ref)
        except ray.exceptions.RayTaskError as error:
            if self._pool is not None:
                self._pool.ended(ref, calls=0)
            # The worker lived but our wrapper raised, not the trial (run_job records whatever
            # the trial raises): e.g. the code does not import on that node. Not the trial's own
            # failure, and running it again would fail alike: an infrastructure failure.
            cause = error.cause if isinstance(getattr(error, "cause", None), BaseException) else error
            try:
                cause.infrastructure = True  # type: ignore[attr-defined]
            except AttributeError:  # an exception type with __slots__
                pass
            return JobEnd(job=job, job_return=failed_return(job.overrides, cause))
        except ray.exceptions.RayError as error:
            # WorkerCrashedError (kill -9, segfault), OutOfMemoryError, NodeDiedError, ObjectLostError,
            # ActorDiedError (a pool's actor)...
            if self._pool is not None:
                self._pool.ended(ref, calls=None)
            return JobEnd(job=job, lost=_reason(error))
        if self._pool is not None:
            self._pool.ended(ref, calls=calls[0])
        return JobEnd(job=job, job_return=job_return, node=node, node_info=node_info)


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {first_line(error)}" if str(error).strip() else type(error).__name__


def _slots(launcher: RayLauncher, resources: dict[str, float], nodes: list[dict[str, Any]]) -> int:
    """Trials at once: `max_concurrent`, else as many as the cluster's CPUs (and GPUs) hold."""
    alive = [node.get("Resources", {}) for node in nodes if node.get("Alive")]
    fits = [r for r in alive if r.get("CPU", 0) >= launcher.cpus_per_trial and r.get("GPU", 0) >= launcher.gpus_per_trial]
    if not fits:
        cpus = max((r.get("CPU", 0) for r in alive), default=0)
        gpus = max((r.get("GPU", 0) for r in alive), default=0)
        key, value, has = (
            ("gpus_per_trial", launcher.gpus_per_trial, f"{gpus:g} GPU(s)")
            if launcher.gpus_per_trial > gpus
            else ("cpus_per_trial", launcher.cpus_per_trial, f"{cpus:g} CPU(s)")
        )
        shown = f"{value:g}" if isinstance(value, float) else value
        raise ConfigError(f"hydra.launcher.{key}", shown, f"no node of the Ray cluster has that many (the largest has {has})")
    if launcher.max_concurrent is not None:
        return launcher.max_concurrent
    held = math.floor(resources.get("CPU", 0) / launcher.cpus_per_trial + 1e-9)
    if launcher.gpus_per_trial > 0:
        held = min(held, math.floor(resources.get("GPU", 0) / launcher.gpus_per_trial + 1e-9))
    return max(held, 1)


def _thread_env(cpus_per_trial: float, gpus_per_trial: float) -> dict[str, str]:
    """Environment of the trial's worker: TensorFlow reads these when it starts, so they are set
    when Ray starts the worker (the environment of a Ray started here, else a runtime env), and a
    reused worker keeps them."""
    threads = str(max(1, math.ceil(cpus_per_trial)))
    env = {
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": threads,
        "OMP_NUM_THREADS": threads,
    }
    if 0 < gpus_per_trial < 1:
        # Trials sharing a GPU: each takes memory as it needs it, not the whole card at start.
        env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    return env


def _resolve_in_sweeping_process(sweep_config: DictConfig) -> None:
    """Resolve the job's own settings here, so `${oc.env:...}` (a tracking URI, a cache folder)
    means what it means in the sweeping process, not on whichever machine runs the job. The
    `hydra` node stays as it is: its `${hydra:...}` values belong to the job, set in the worker."""
    for key in list(sweep_config.keys()):
        node = sweep_config[key]
        if key != "hydra" and OmegaConf.is_config(node):
            try:
                OmegaConf.resolve(node)
            except Exception:  # noqa: BLE001 - an interpolation only the job can resolve stays for the worker
                pass
