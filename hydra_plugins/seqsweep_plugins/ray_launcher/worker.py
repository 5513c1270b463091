"""The Ray worker's side of `hydra/launcher=ray`: run one Hydra job as Hydra's own launchers do.

The worker process lives across jobs (Ray reuses it), so TensorFlow is imported once; everything
a job changes in the process (working directory, stdout/stderr, Hydra's singletons, the current
job context) is set for the job and put back after it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, run_job, setup_globals
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.seqsweep_plugins.engine.hydra_private import with_plugin_registry_kept
from hydra_plugins.seqsweep_plugins.engine.job_context import JobContext, activated
from hydra_plugins.seqsweep_plugins.engine.outcome import failed_return
from hydra_plugins.seqsweep_plugins.engine.versions import node_info


def run_job_in_worker(
    shared: tuple[Any, Any, Any],
    sweep_config: DictConfig,
    context: JobContext | None,
    cwd: str,
    code_folder: str | None,
    warm_imports: Sequence[str] = (),
) -> tuple[JobReturn, str, dict[str, Any]]:
    """Run one job; return its JobReturn, the id of the Ray node that ran it, and that node's versions.

    `cwd` and `code_folder` are the sweeping process's working directory and the checkout its
    task function comes from; either may not exist on this node. `warm_imports` are the modules
    the sweep's warm-up imports in each worker (executor.py).
    """
    import ray

    hydra_context, task_function, singleton_state = shared
    node = ray.get_runtime_context().get_node_id()
    info = node_info(code_folder if code_folder and os.path.isdir(code_folder) else _own_checkout())
    if context is not None:
        # The host names the machine; the Ray node id and worker pid tell apart nodes that share
        # a host (and find the process of a trial that hangs).
        context.tags.update({"node": info["host"], "ray_node_id": node, "worker_pid": str(os.getpid())})
        if warm_imports:
            # Whether the trial found its heavy modules imported (a warm-up or an earlier job).
            context.tags["worker_warm"] = str(all(name in sys.modules for name in warm_imports)).lower()
    setup_globals()
    _restore_hydra_singletons(singleton_state)
    with _working_directory(cwd):
        output_dir = _job_output_dir(sweep_config)
        output_dir.mkdir(parents=True, exist_ok=True)
        with _console_copied_to(output_dir / "console.log"), activated(context):
            try:
                job_return = run_job(
                    hydra_context=hydra_context,
                    task_function=task_function,
                    config=sweep_config,
                    job_dir_key="hydra.sweep.dir",
                    job_subdir_key="hydra.sweep.subdir",
                )
            except SystemExit as exit_:
                # run_job records exceptions but lets SystemExit through; in a reused worker it
                # would end the worker and read as a lost trial, while the job itself chose to stop.
                overrides = OmegaConf.to_container(sweep_config.hydra.overrides.task)
                job_return = failed_return(overrides, RuntimeError(f"the job called sys.exit({exit_.code})"))  # type: ignore[arg-type]
    return job_return, node, info


def import_modules(names: Sequence[str]) -> dict[str, str]:
    """The warm-up task: import each module, so the worker's first job finds it imported.

    Returns what failed to import ({name: error}); never raises, as a module that does not import
    here fails its trial with the error where the trial shows it."""
    failed = {}
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - see the docstring
            failed[name] = f"{type(error).__name__}: {error}"
    return failed


def _restore_hydra_singletons(state: dict[str, Any]) -> None:
    """Hydra's singletons as the sweeping process has them (ConfigStore, JobRuntime, resolvers).

    Hydra leaves its plugin registry out of that state and rebuilds it by scanning (importing and
    re-executing) every plugin module; a reused worker keeps the registry of its first job instead.
    """
    Singleton.set_state(with_plugin_registry_kept(state))


def _own_checkout() -> str:
    """The folder holding the `hydra_plugins/` this worker imports (the checkout it runs)."""
    return str(Path(__file__).resolve().parents[3])


def code_folder(task_function: Any) -> str | None:
    """The folder that makes the task function's module importable (the checkout's root)."""
    module = sys.modules.get(getattr(task_function, "__module__", "") or "")
    path = getattr(module, "__file__", None)
    if not path:
        return None
    depth = len(module.__name__.split(".")) if module.__name__ != "__main__" else 1  # type: ignore[union-attr]
    return str(Path(path).resolve().parents[depth - 1])


def _job_output_dir(sweep_config: DictConfig) -> Path:
    """The job's folder, as run_job will compute it (its subdir may read `${hydra:...}`)."""
    previous = HydraConfig.instance().cfg
    HydraConfig.instance().set_config(sweep_config)
    try:
        return Path(str(OmegaConf.select(sweep_config, "hydra.sweep.dir"))) / str(
            OmegaConf.select(sweep_config, "hydra.sweep.subdir")
        )
    finally:
        HydraConfig.instance().cfg = previous


@contextlib.contextmanager
def _working_directory(cwd: str) -> Iterator[None]:
    """Run in the sweeping process's folder when this node has it, so relative paths (data,
    stores, hydra.sweep.dir) mean what they mean there; elsewhere stay where Ray started us."""
    previous = os.getcwd()
    if os.path.isdir(cwd):
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(previous)


@contextlib.contextmanager
def _console_copied_to(path: Path) -> Iterator[None]:
    """Copy everything the job writes to stdout and stderr into `path`, native code's output included.

    Copied at the file-descriptor level rather than by swapping sys.stdout/sys.stderr: absl's
    logging handler (TensorFlow's) closes any stream that is not the current sys.stderr when
    Hydra reconfigures logging, which closed the worker's real stderr.
    """
    with open(path, "ab", buffering=0) as copy:
        lock = threading.Lock()
        with _descriptor_copied(1, copy, lock), _descriptor_copied(2, copy, lock):
            yield


@contextlib.contextmanager
def _descriptor_copied(fd: int, copy: BinaryIO, lock: threading.Lock) -> Iterator[None]:
    """Route `fd` through a pipe whose reader writes each chunk to the original target and to `copy`."""
    _flush_python_streams()
    original = os.dup(fd)
    read_end, write_end = os.pipe()
    os.dup2(write_end, fd)
    os.close(write_end)

    def pump() -> None:
        while chunk := os.read(read_end, 65536):
            _write_all(original, chunk)
            with lock:
                copy.write(chunk)
        os.close(read_end)

    reader = threading.Thread(target=pump, name=f"console-copy-{fd}", daemon=True)
    reader.start()
    try:
        yield
    finally:
        _flush_python_streams()
        os.dup2(original, fd)  # closes our pipe's write end: the reader sees the end of it
        reader.join(timeout=10)
        # A process the job started and left running may hold the pipe open: its reader keeps
        # writing to `original`, so that descriptor stays open for it.
        if not reader.is_alive():
            os.close(original)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
