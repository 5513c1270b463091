"""A trial whose Ray worker is killed mid-training continues, in its rerun, from its last epoch.

The real command on a local Ray: a one-trial grid of 6 epochs in deterministic mode; the worker
is killed with SIGKILL as soon as the trial's backup holds epoch 3. The rerun must start at
epoch 4 (the lost run and the rerun together log epochs 1-6 once each) and end with the val_loss
of the same training run uninterrupted, and leave no backup behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import psutil
import pytest
from hydra import compose, initialize_config_dir

from src.training.backup import backed_up_epochs
from src.training.trainer import train

pytestmark = [pytest.mark.slow, pytest.mark.starts_ray]

CONF = Path(__file__).resolve().parents[2] / "conf"
# Epochs of about a second on 2 cores, so the kill lands between epoch 3's backup and epoch 4's.
TRIAL = [
    "model=gru",
    "model.units=16",
    "model.dropout=0.2",
    "model.recurrent_dropout=0.2",
    "data.n_train=400",
    "data.n_test=100",
    "data.maxlen=80",
    "trainer.epochs=6",
    "trainer.deterministic=true",
    "trainer.seed=11",
]


def _wait_for(condition, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.01)
    pytest.fail(f"{what} did not happen within {timeout:g} s:\n{log.read_text()[-4000:]}")


def _backed_up_epoch(folder: Path) -> int:
    return max((backed_up_epochs(trial) for trial in folder.glob("*/trial-0")), default=0)


def _running_worker_pid(tracking_uri: str) -> int | None:
    mlflow.set_tracking_uri(tracking_uri)
    try:
        runs = mlflow.search_runs(experiment_names=["imdb"])
    except mlflow.exceptions.MlflowException:
        return None
    if "tags.worker_pid" not in runs:
        return None
    running = runs[(runs["status"] == "RUNNING") & runs["tags.worker_pid"].notna()]
    return int(running["tags.worker_pid"].iloc[0]) if len(running) else None


def test_a_killed_workers_trial_continues_from_its_last_epoch_with_the_numbers_of_an_uninterrupted_run(
    tmp_path: Path, cache_dir: Path, mini_archive: Path
) -> None:
    backups = tmp_path / "backups"
    tracking_uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    env = {**os.environ, "SEQSWEEP_CACHE_DIR": str(cache_dir)}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("RAY_ADDRESS", None)
    log = tmp_path / "sweep.log"
    command = [
        sys.executable, "-m", "src.train", "-m", *TRIAL, "hydra/launcher=ray",
        f"trainer.backup_dir={backups}", f"data.source={mini_archive}",
    ]  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        pid = _wait_for(lambda: _running_worker_pid(tracking_uri), 240, "the trial's start", log)
        _wait_for(lambda: _backed_up_epoch(backups) >= 3, 240, "the backup of epoch 3", log)
        assert pid in {child.pid for child in psutil.Process().children(recursive=True)}
        os.kill(pid, signal.SIGKILL)
        code = process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log.read_text()
    assert code == 0, output[-4000:]
    assert "trial #0 lost" in output, output[-4000:]

    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(experiment_names=["imdb"])
    trials = runs[runs["tags.sweep"] != "true"]
    (lost,) = trials[trials["tags.retry_of"].isna()]["run_id"]
    (rerun,) = trials[trials["tags.retry_of"] == "0"]["run_id"]
    client = mlflow.MlflowClient()
    lost_epochs = sorted(m.step for m in client.get_metric_history(lost, "val_loss"))
    rerun_history = sorted(client.get_metric_history(rerun, "val_loss"), key=lambda m: m.step)
    assert lost_epochs == [1, 2, 3], f"the worker was killed after epoch {lost_epochs[-1]}, not 3"
    assert [m.step for m in rerun_history] == [4, 5, 6]
    assert client.get_run(rerun).data.tags["resumed_after_epoch"] == "3"
    assert client.get_run(rerun).info.status == "FINISHED"

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[*TRIAL, f"data.source={mini_archive}", f"data.cache_dir={cache_dir}"])
    uninterrupted = train(cfg, verbose=0)
    assert rerun_history[-1].value == uninterrupted.metrics["val_loss"]
    assert not list(backups.glob("*/trial-*")), "the backup outlived its trial"
