"""A grid sweep stopped by SIGTERM or kill -9 leaves nothing RUNNING and resumes without duplicates.

Real subprocesses of `python -m src.train -m ...`, signals sent while the second trial trains.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.tiny_trial import TINY_TRIAL

pytestmark = pytest.mark.slow

GRID = ["-m", "model=simplernn,lstm,gru", *TINY_TRIAL, "trainer.epochs=30"]


def start(tmp_path: Path, env: dict[str, str], *extra: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"sweep-{time.monotonic_ns()}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "src.train", *GRID, *extra],
        cwd=tmp_path,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    return process, log


def wait_for(log: Path, text: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text():
            return
        assert process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.2)
    pytest.fail(f"never saw {text!r}: {log.read_text()[-3000:]}")


def wait_for_training(store_runs, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    """Until a trial's run is RUNNING and has logged an epoch (a fixed pause can end before the
    run exists on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = store_runs()
        if not runs.empty and "metrics.val_loss" in runs:
            training = runs[(runs["status"] == "RUNNING") & runs["tags.mlflow.parentRunId"].notna()]
            if training["metrics.val_loss"].notna().any():
                return
        assert process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.5)
    pytest.fail(f"no trial logged an epoch: {log.read_text()[-3000:]}")


@pytest.fixture()
def sweep_env(cache_dir: Path, mini_archive: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(sys.modules[__name__], "GRID", [*GRID, f"data.source={mini_archive}"])
    env = {**os.environ, "SEQSWEEP_CACHE_DIR": str(cache_dir)}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_a_stopped_grid_leaves_nothing_running_and_resumes_only_the_missing_points(tmp_path, sweep_env, store_runs, signum):
    process, log = start(tmp_path, sweep_env)
    wait_for(log, "\n[1/3]", process)  # trial #0's end line: #1 starts now
    wait_for_training(store_runs, process, log)
    process.send_signal(signum)
    code = process.wait(timeout=120)
    if signum == signal.SIGTERM:
        assert code == 128 + signal.SIGTERM
        assert log.read_text().strip().splitlines()[-1].startswith("error: stopped by SIGTERM")
        runs = store_runs()
        assert "RUNNING" not in set(runs["status"])
        assert sorted(runs["status"]) == ["FINISHED", "KILLED", "KILLED"]  # trial 0, trial 1, the parent

    # The same command names the unfinished sweep instead of silently running it all again;
    # after kill -9 it first closes what the dead process left RUNNING.
    again = subprocess.run(
        [sys.executable, "-m", "src.train", *GRID], cwd=tmp_path, env=sweep_env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 2
    assert again.stderr.strip().splitlines()[-1].startswith("error: an unfinished sweep of this command exists: parent ")
    if signum == signal.SIGKILL:
        assert "closed 2 run(s) that a sweep whose process is gone had left RUNNING" in again.stdout
    assert "RUNNING" not in set(store_runs()["status"])

    resumed = subprocess.run(
        [sys.executable, "-m", "src.train", *GRID, "hydra.sweeper.resume=last"],
        cwd=tmp_path,
        env=sweep_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "resuming: 1 of 3 point(s) have a finished trial; running the other 2" in resumed.stdout
    runs = store_runs()
    parents = runs[runs["tags.sweep"] == "true"]
    assert len(parents) == 1 and parents["status"].iloc[0] == "FINISHED"
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    finished = children[children["status"] == "FINISHED"]
    assert sorted(finished["params.model.name"]) == ["gru", "lstm", "simplernn"]  # each point finished once
    assert children["tags.mlflow.runName"].is_unique


# Ctrl-C at 20 moments: (what the delay counts from, seconds). From the launch: imports, Hydra's
# composing, the point checks; from the header: the sweep's start in MLflow and the first trial's
# model building; from a trial's end line: the next trial's building, `fit`, evaluation and
# MLflow logging (a small trial here takes about two seconds).
MOMENTS = [
    ("launch", 1.0),
    ("launch", 2.5),
    ("launch", 4.0),
    ("header", 0.0),
    ("header", 0.4),
    *(("end line", delay) for delay in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0)),
]
CTRL_C_GRID = ["model=simplernn,lstm", "trainer.seed=range(1,13)", "trainer.epochs=3"]


def ctrl_c_command() -> list[str]:
    """The 24-point grid of small trials (GRID's data, other models, seeds and epochs), resumed."""
    data = [o for o in GRID if not o.startswith(("-m", "model=", "trainer.epochs="))]
    return [sys.executable, "-m", "src.train", "-m", *data, *CTRL_C_GRID, "hydra.sweeper.resume=last"]


def wait_for_line(log: Path, pattern: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, log.read_text(), flags=re.MULTILINE):
            return
        assert process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.02)
    pytest.fail(f"never saw {pattern!r}: {log.read_text()[-3000:]}")


def interrupt_at(tmp_path: Path, env: dict[str, str], anchor: str, delay: float) -> tuple[int, str]:
    """One resumed run of the grid, Ctrl-C'd `delay` seconds after `anchor`; its exit code and output."""
    log = tmp_path / f"ctrl-c-{time.monotonic_ns()}.log"
    process = subprocess.Popen(ctrl_c_command(), cwd=tmp_path, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    if anchor != "launch":
        wait_for_line(log, r"^\[sweep\] folder " if anchor == "header" else r"^\[\d+/\d+\]", process)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=120), log.read_text()


def test_ctrl_c_at_any_moment_exits_130_records_no_failure_and_resume_runs_each_point_once(tmp_path, sweep_env, store_runs):
    for anchor, delay in MOMENTS:
        code, output = interrupt_at(tmp_path, sweep_env, anchor, delay)
        moment = f"Ctrl-C {delay} s after the {anchor}"
        assert code == 130, f"{moment}: exit code {code}\n{output[-3000:]}"
        assert "Traceback" not in output, f"{moment}\n{output[-3000:]}"
        assert output.strip().splitlines()[-1].startswith("error: stopped by SIGINT"), f"{moment}\n{output[-3000:]}"
        if (tmp_path / "mlruns" / "mlflow.db").exists():
            runs = store_runs()
            if not runs.empty:
                assert "RUNNING" not in set(runs["status"]), f"{moment}\n{runs[['status', 'tags.mlflow.runName']]}"
                assert "FAILED" not in set(runs["status"]), f"{moment}: a trial recorded FAIL\n{runs['tags.error']}"
    finished = subprocess.run(
        ctrl_c_command(),
        cwd=tmp_path,
        env=sweep_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    runs = store_runs()
    parents = runs[runs["tags.sweep"] == "true"]
    assert list(parents["status"]) == ["FINISHED"]  # every interrupted part resumed the one sweep
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    done = children[children["status"] == "FINISHED"]
    points = sorted(zip(done["params.model.name"], done["params.trainer.seed"]))
    assert points == sorted((m, str(s)) for m in ("simplernn", "lstm") for s in range(1, 13))  # each point once
    assert set(children["status"]) <= {"FINISHED", "KILLED"}
