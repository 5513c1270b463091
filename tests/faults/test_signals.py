"""A grid sweep stopped by SIGTERM or kill -9 leaves nothing RUNNING and resumes without duplicates.

Real subprocesses of `python -m src.train -m ...`, signals sent while the second trial trains.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

GRID = [
    "-m",
    "model=simplernn,lstm,gru",
    "model.units=4",
    "model.embedding_dim=8",
    "data.num_words=500",
    "data.maxlen=20",
    "data.n_train=60",
    "data.n_test=50",
    "trainer.epochs=30",
]


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
    time.sleep(2)  # inside the second trial's training
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
