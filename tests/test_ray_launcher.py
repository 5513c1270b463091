"""`hydra/launcher=ray` on a real two-node Ray cluster (loopback only) with a tiny Hydra app.

The executor is driven as the sweepers drive it (submit, wait, each job as it ends); `launch`
as Hydra's own sweepers call it; and one real multirun of the tiny app starts its own local Ray.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from hydra import initialize_config_dir
from hydra._internal.callbacks import Callbacks
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.types import HydraContext, RunMode

from hydra_plugins.seqsweep_plugins import Job, JobContext, JobEnd
from hydra_plugins.seqsweep_plugins.ray_launcher.launcher import RayLauncher
from tests.apps import tiny_app

# The session's two-node cluster (fixture `ray_cluster`).
pytest_plugins = ["tests.fixtures.ray_cluster"]
# Starting the two-node cluster takes ~8 s and its tests ~25 s: CI runs them, the default run does not.
pytestmark = [pytest.mark.slow, pytest.mark.starts_ray]

APP = Path(tiny_app.__file__)
# Ends must arrive well within this; a job that never ends fails the test instead of hanging it.
WAIT_LIMIT = 60.0


@pytest.fixture(scope="module", autouse=True)
def _app_travels_by_value() -> None:
    # The workers import the launcher from the installed project, but `tests` is no package of it.
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(tiny_app)


@contextmanager
def launcher_for(ray_cluster, tmp_path: Path, *settings: str) -> Iterator[RayLauncher]:
    """The tiny app's `hydra/launcher=ray`, set up as Hydra sets up a sweep's launcher."""
    overrides = [
        "hydra/launcher=ray",
        f"hydra.launcher.address={ray_cluster.address}",
        f"hydra.sweep.dir={tmp_path}/multirun",
        *settings,
    ]
    with initialize_config_dir(config_dir=str(tiny_app.CONF), version_base=None, job_name="tiny"):
        hydra = GlobalHydra.instance().hydra
        config = hydra.compose_config("tiny", overrides=overrides, run_mode=RunMode.MULTIRUN)
        HydraConfig.instance().set_config(config)
        context = HydraContext(config_loader=hydra.config_loader, callbacks=Callbacks(config))
        yield Plugins.instance().instantiate_launcher(hydra_context=context, task_function=tiny_app.job, config=config)


def job(idx: int, *overrides: str) -> Job:
    overrides_ = [f"x={idx}", *overrides]
    return Job(
        overrides=overrides_,
        idx=idx,
        context=JobContext(number=idx, overrides=overrides_, varying=[f"x={idx}"]),
    )


def collect(executor, count: int) -> list[JobEnd]:
    """Wait for `count` ends, in the order the executor reports them."""
    ends: list[JobEnd] = []
    deadline = time.monotonic() + WAIT_LIMIT
    while len(ends) < count:
        assert time.monotonic() < deadline, f"only {len(ends)} of {count} jobs ended within {WAIT_LIMIT:g} s"
        ends += executor.wait(timeout=1.0)
    return ends


def test_jobs_run_on_both_nodes_each_reported_with_its_node(ray_cluster, tmp_path: Path) -> None:
    with launcher_for(ray_cluster, tmp_path) as launcher:
        executor = launcher.executor()
        assert executor.slots == 2  # two nodes of one CPU, one CPU per trial
        for idx in range(4):
            executor.submit(job(idx, "sleep=1"))
        ends = collect(executor, 4)

    assert executor.in_flight() == 0
    assert {end.node for end in ends} == ray_cluster.node_ids()
    head = subprocess.run(
        ["git", "-C", str(APP.parent), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for end in ends:
        assert end.lost is None and end.job_return.status == JobStatus.COMPLETED
        seen = end.job_return.return_value
        assert seen["value"] == 2.0 * end.job.idx
        # The job saw its own context, tagged in the worker with the machine that ran it.
        assert seen["context_number"] == end.job.idx and seen["node_tag"] == socket.gethostname()
        # One TensorFlow thread per trial, set before any job of the worker ran.
        assert seen["threads"] == "1"
        # Relative paths resolve as in the sweeping process.
        assert seen["cwd"] == os.getcwd()
        assert end.node_info["host"] == socket.gethostname() and end.node_info["ray"] and end.node_info["python"]
        assert end.node_info["git_commit"].startswith(head)
        console = Path(end.job_return.hydra_cfg.hydra.runtime.output_dir, "console.log").read_text()
        assert f"tiny job x={end.job.idx} starts" in console and f"tiny job x={end.job.idx} ends" in console
    # Workers are reused: four jobs ran in fewer than four processes.
    assert len({end.job_return.return_value["pid"] for end in ends}) < 4


def test_a_slow_job_does_not_hold_back_the_later_ones(ray_cluster, tmp_path: Path) -> None:
    with launcher_for(ray_cluster, tmp_path) as launcher:
        executor = launcher.executor()
        executor.submit(job(0, "sleep=8"))
        for idx in (1, 2, 3):
            executor.submit(job(idx))
        quick = collect(executor, 3)
        # The three quick jobs ended, one after another in the second slot, while the slow one runs.
        assert sorted(end.job.idx for end in quick) == [1, 2, 3]
        assert executor.in_flight() == 1
        (slow,) = collect(executor, 1)
    assert slow.job.idx == 0 and slow.job_return.status == JobStatus.COMPLETED


def test_max_calls_1_runs_each_job_in_a_fresh_worker(ray_cluster, tmp_path: Path) -> None:
    with launcher_for(ray_cluster, tmp_path, "hydra.launcher.max_calls=1") as launcher:
        executor = launcher.executor()
        for idx in range(4):
            executor.submit(job(idx))
        ends = collect(executor, 4)
    assert all(end.job_return.status == JobStatus.COMPLETED for end in ends)
    assert len({end.job_return.return_value["pid"] for end in ends}) == 4


def test_a_killed_worker_is_lost_with_a_reason_while_the_others_finish(ray_cluster, tmp_path: Path) -> None:
    with launcher_for(ray_cluster, tmp_path) as launcher:
        executor = launcher.executor()
        executor.submit(job(0, "end=die"))
        executor.submit(job(1, "end=raise"))
        executor.submit(job(2, "sleep=1"))
        ends = {end.job.idx: end for end in collect(executor, 3)}

    assert ends[0].job_return is None and "WorkerCrashedError" in ends[0].lost
    # A job that raised is no lost worker: the exception comes back for the sweeper to record.
    assert ends[1].lost is None and ends[1].job_return.status == JobStatus.FAILED
    assert isinstance(ends[1].job_return._return_value, ValueError)
    assert ends[2].lost is None and ends[2].job_return.return_value["value"] == 4.0


def test_a_failure_outside_the_trial_comes_back_as_an_infrastructure_failure(ray_cluster, tmp_path: Path) -> None:
    with launcher_for(ray_cluster, tmp_path) as launcher:
        executor = launcher.executor()
        # The job's folder cannot be computed in the worker: Hydra's part fails, not the trial.
        executor.submit(job(0, "hydra.sweep.subdir=${no_such_key}"))
        (end,) = collect(executor, 1)
    assert end.lost is None and end.job_return.status == JobStatus.FAILED
    assert "no_such_key" in str(end.job_return._return_value)
    assert end.job_return._return_value.infrastructure is True


def test_launch_returns_every_job_in_order_a_lost_one_as_failed(ray_cluster, tmp_path: Path) -> None:
    with launcher_for(ray_cluster, tmp_path) as launcher:
        returns = launcher.launch(
            [["x=1", "sleep=2"], ["x=2"], ["x=3", "end=die"], ["x=4"]],
            initial_job_idx=10,
        )

    assert [r.overrides[0] for r in returns] == ["x=1", "x=2", "x=3", "x=4"]
    assert [r.status for r in returns] == [
        JobStatus.COMPLETED,
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.COMPLETED,
    ]
    assert [r.return_value["value"] for r in returns if r.status == JobStatus.COMPLETED] == [2.0, 4.0, 8.0]
    assert "lost" in str(returns[2]._return_value) and "WorkerCrashedError" in str(returns[2]._return_value)
    # Numbered from initial_job_idx, as Hydra's sweepers expect (one folder per job).
    assert sorted(Path(r.hydra_cfg.hydra.runtime.output_dir).name for r in returns if r.hydra_cfg) == ["10", "11", "13"]


def test_cancel_all_stops_the_jobs_in_flight(ray_cluster, tmp_path: Path) -> None:
    with launcher_for(ray_cluster, tmp_path, "hydra.launcher.max_concurrent=1") as launcher:
        executor = launcher.executor()
        assert executor.slots == 1
        executor.submit(job(0, "sleep=60"))
        executor.submit(job(1))  # waits for the slot
        assert executor.in_flight() == 2
        cancelled = executor.cancel_all()
    assert sorted(j.idx for j in cancelled) == [0, 1]
    assert executor.in_flight() == 0 and executor.wait(timeout=0.1) == []


def test_bad_settings_are_refused_in_one_line(ray_cluster, tmp_path: Path) -> None:
    with (
        pytest.raises(
            ValueError,
            match=r"^hydra\.launcher\.cpus_per_trial=0 is not allowed: a number > 0$",
        ),
        launcher_for(ray_cluster, tmp_path, "hydra.launcher.cpus_per_trial=0"),
    ):
        pass
    with (
        pytest.raises(ValueError, match=r"^hydra\.launcher\.max_calls=0 is not allowed: null \(a worker is never replaced\)"),
        launcher_for(ray_cluster, tmp_path, "hydra.launcher.max_calls=0"),
    ):
        pass
    with (
        pytest.raises(ValueError, match=r"^hydra\.launcher\.keep_warm_s=0 is not allowed: null or a number of seconds > 0$"),
        launcher_for(ray_cluster, tmp_path, "hydra.launcher.keep_warm_s=0"),
    ):
        pass
    with (
        pytest.raises(
            ValueError, match=r"^hydra\.launcher\.keep_warm_s=60 is not allowed: null when hydra\.launcher\.address is null"
        ),
        launcher_for(ray_cluster, tmp_path, "hydra.launcher.keep_warm_s=60", "hydra.launcher.address=null"),
    ):
        pass
    too_many = (
        r"^hydra\.launcher\.cpus_per_trial=2 is not allowed: no node of the Ray cluster has that many \(the largest has 1 CPU"
    )
    with (
        launcher_for(ray_cluster, tmp_path, "hydra.launcher.cpus_per_trial=2") as launcher,
        pytest.raises(ValueError, match=too_many),
    ):
        launcher.executor()
    no_gpu = r"^hydra\.launcher\.gpus_per_trial=0\.5 is not allowed: no node of the Ray cluster has that many \(the largest has 0 GPU"
    with (
        launcher_for(ray_cluster, tmp_path, "hydra.launcher.gpus_per_trial=0.5") as launcher,
        pytest.raises(ValueError, match=no_gpu),
    ):
        launcher.executor()


def _listening_off_loopback(root: psutil.Process) -> tuple[int, list[str]]:
    """How many ports the process tree listens on, and those not on loopback."""
    pids = {root.pid} | {child.pid for child in root.children(recursive=True)}
    listening = [c for c in psutil.net_connections("inet") if c.status == psutil.CONN_LISTEN and c.pid in pids]
    off = [f"{c.laddr.ip}:{c.laddr.port} (pid {c.pid})" for c in listening if not _is_loopback(c.laddr.ip)]
    return len(listening), off


def _is_loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    return address.is_loopback or (
        address.version == 6 and address.ipv4_mapped is not None and address.ipv4_mapped.is_loopback
    )


def test_nothing_of_the_cluster_listens_off_loopback(ray_cluster) -> None:
    count, off = _listening_off_loopback(psutil.Process())
    assert count >= 4 and off == []


@pytest.mark.slow
def test_a_removed_node_loses_its_job_and_later_jobs_finish_on_the_head(ray_cluster, tmp_path: Path) -> None:
    started = tmp_path / "started"
    started.mkdir()
    try:
        with launcher_for(ray_cluster, tmp_path) as launcher:
            executor = launcher.executor()
            executor.submit(job(0, "sleep=12", f"started_dir={started}"))
            executor.submit(job(1, "sleep=12", f"started_dir={started}"))
            deadline = time.monotonic() + WAIT_LIMIT
            while len(list(started.iterdir())) < 2:  # one job running on each node
                assert time.monotonic() < deadline, "the two jobs did not both start"
                time.sleep(0.2)
            ray_cluster.cluster.remove_node(ray_cluster.worker)
            ends = collect(executor, 2)
            lost = [end for end in ends if end.lost is not None]
            assert len(lost) == 1, [end.lost for end in ends]
            (finished,) = [end for end in ends if end.lost is None]
            assert finished.node == ray_cluster.head_id
            for idx in (2, 3):
                executor.submit(job(idx))
            later = collect(executor, 2)
        assert all(end.lost is None and end.node == ray_cluster.head_id for end in later)
    finally:
        ray_cluster.replace_worker()


@pytest.mark.slow
def test_a_multirun_starts_its_own_ray_on_loopback_only(tmp_path: Path) -> None:
    """The real CLI: `python tiny_app.py -m hydra/launcher=ray x=1,2` starts a local Ray of its own."""
    started = tmp_path / "started"
    started.mkdir()
    command = [
        sys.executable,
        str(APP),
        "-m",
        "hydra/launcher=ray",
        "x=1,2",
        "sleep=4",
        f"started_dir={started}",
        "hydra.sweep.dir=multirun",
    ]
    env = {**os.environ}
    env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)  # the launcher must not depend on the caller's setting
    env.pop("RAY_ADDRESS", None)
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(list(started.iterdir())) < 2 and process.poll() is None:
            assert time.monotonic() < deadline, "the jobs did not start"
            time.sleep(0.2)
        count, off = _listening_off_loopback(psutil.Process(process.pid))
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output[-3000:]
    assert count >= 4 and off == []
    for num, x in ((0, 1), (1, 2)):
        # Ends, with one TensorFlow thread (hydra.launcher.cpus_per_trial=1) from the Ray it started.
        assert (
            f"tiny job x={x} ends (TF_NUM_INTRAOP_THREADS=1)" in (tmp_path / "multirun" / str(num) / "console.log").read_text()
        )


# hydra.launcher.keep_warm_s: a pool of detached actors that outlives the command.


@pytest.fixture
def warm_pool_ended(ray_cluster) -> Iterator[None]:
    """Ends the pool's actors after the test: detached, they would hold the cluster's CPUs."""
    yield
    import ray

    from hydra_plugins.seqsweep_plugins.ray_launcher.warm_pool import NAMESPACE

    for name in _pool_actor_names():
        try:
            ray.kill(ray.get_actor(name, namespace=NAMESPACE))
        except ValueError:
            pass


def _pool_actor_names() -> list[str]:
    import ray

    from hydra_plugins.seqsweep_plugins.ray_launcher.warm_pool import NAMESPACE, PREFIX

    return sorted(
        a["name"]
        for a in ray.util.list_named_actors(all_namespaces=True)
        if a["namespace"] == NAMESPACE and a["name"].startswith(PREFIX)
    )


def _warm_command(ray_cluster, tmp_path: Path, started: Path, *settings: str) -> subprocess.CompletedProcess:
    started.mkdir()
    command = [
        sys.executable,
        str(APP),
        "-m",
        "hydra/launcher=ray",
        f"hydra.launcher.address={ray_cluster.address}",
        "hydra.launcher.keep_warm_s=120",
        "x=1,2",
        f"started_dir={started}",
        f"hydra.sweep.dir={tmp_path}/multirun-{started.name}",
        *settings,
    ]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_keep_warm_runs_the_next_command_on_the_workers_of_the_one_before(
    ray_cluster, tmp_path: Path, warm_pool_ended
) -> None:
    first = _warm_command(ray_cluster, tmp_path, tmp_path / "first")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    pool = _pool_actor_names()
    assert len(pool) == 2  # one per slot, alive after the command that made them ended
    second = _warm_command(ray_cluster, tmp_path, tmp_path / "second")
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]

    def pids(folder: Path) -> set[str]:
        return {path.read_text() for path in folder.iterdir()}

    assert len(pids(tmp_path / "first")) == 2
    assert pids(tmp_path / "second") == pids(tmp_path / "first")
    assert _pool_actor_names() == pool


def test_a_warm_worker_is_recycled_after_max_calls_and_a_lost_one_replaced(
    ray_cluster, tmp_path: Path, warm_pool_ended
) -> None:
    settings = ("hydra.launcher.keep_warm_s=60", "hydra.launcher.max_calls=2", "hydra.launcher.max_concurrent=1")
    with launcher_for(ray_cluster, tmp_path, *settings) as launcher:
        executor = launcher.executor()
        pids = []
        for idx in range(3):
            executor.submit(job(idx))
            (end,) = collect(executor, 1)
            assert end.lost is None and end.job_return.status == JobStatus.COMPLETED
            pids.append(end.job_return.return_value["pid"])
        executor.submit(job(3, "end=die"))
        (died,) = collect(executor, 1)
        executor.submit(job(4))
        (after,) = collect(executor, 1)
    # Two jobs per actor, then a fresh one; a killed actor's job is lost, and the next runs on a new actor.
    assert pids[0] == pids[1] != pids[2]
    assert died.job_return is None and "ActorDiedError" in died.lost
    assert after.lost is None and after.job_return.return_value["pid"] not in pids


def test_a_pool_of_other_code_is_replaced_and_an_idle_pool_ends_itself(
    ray_cluster, tmp_path: Path, warm_pool_ended, monkeypatch
) -> None:
    from hydra_plugins.seqsweep_plugins.ray_launcher import executor as ray_executor

    def run_one(code: str, keep_warm_s: float) -> tuple[int, list[str]]:
        monkeypatch.setattr(ray_executor, "code_fingerprint", lambda folders: code)
        settings = (f"hydra.launcher.keep_warm_s={keep_warm_s}", "hydra.launcher.max_concurrent=1")
        with launcher_for(ray_cluster, tmp_path, *settings) as launcher:
            executor = launcher.executor()
            executor.submit(job(0))
            (end,) = collect(executor, 1)
        assert end.lost is None
        return end.job_return.return_value["pid"], _pool_actor_names()

    old_pid, old_pool = run_one("aaaaaaaaaaaa", 60)
    new_pid, new_pool = run_one("bbbbbbbbbbbb", 2)
    assert [name.split("-")[2] for name in old_pool] == ["aaaaaaaaaaaa"]
    # The code changed: the old actor (its modules imported from the old code) was ended.
    assert new_pid != old_pid and [name.split("-")[2] for name in new_pool] == ["bbbbbbbbbbbb"]
    deadline = time.monotonic() + 30
    while _pool_actor_names():
        assert time.monotonic() < deadline, "the idle pool did not end itself"
        time.sleep(0.5)


def test_cancel_all_ends_the_busy_warm_worker(ray_cluster, tmp_path: Path, warm_pool_ended) -> None:
    settings = ("hydra.launcher.keep_warm_s=60", "hydra.launcher.max_concurrent=1")
    with launcher_for(ray_cluster, tmp_path, *settings) as launcher:
        executor = launcher.executor()
        executor.submit(job(0, "sleep=60"))
        executor.submit(job(1))
        started = time.monotonic()
        cancelled = executor.cancel_all()
    assert sorted(j.idx for j in cancelled) == [0, 1] and executor.in_flight() == 0
    deadline = started + 30
    while _pool_actor_names():
        assert time.monotonic() < deadline, "the cancelled job's actor still lives"
        time.sleep(0.5)
