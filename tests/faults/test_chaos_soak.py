"""Several faults in one sweep, as on a real cluster, and a store that stays away.

- The soak: a 40-trial Optuna sweep on a two-node local Ray cluster with PostgreSQL (the study,
  and the backend of `mlflow server`), two trials in flight. While it runs, a busy Ray worker is
  killed with SIGKILL every 15 s (6 kills), PostgreSQL restarts once and `mlflow server` once.
  It must end with exactly 40 counted trials, each Optuna trial recorded once, nothing RUNNING in
  Optuna or MLflow, and every lost trial continued from its backup.
- A store down for longer than the sweep waits (`hydra.sweeper.store_outage_s`,
  `tracking.outage_s`) stops the sweep non-zero within about that time, and the same command,
  once the store is back, resumes it to its budget.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import mlflow
import optuna
import psutil
import pytest
import requests
from optuna.trial import TrialState

from hydra_plugins.seqsweep_plugins.optuna_sweeper.study import INFRASTRUCTURE, counted_trials
from tests.fixtures.mlflow_server import restartable_server

pytest_plugins = ["tests.fixtures.ray_cluster"]
pytestmark = pytest.mark.slow

SMALL = [
    "model.units=8",
    "model.embedding_dim=8",
    "data.num_words=500",
    "data.maxlen=40",
    "data.n_train=150",
    "data.n_test=50",
    "trainer.epochs=6",
]
STUDY = [
    "+sweeps=imdb_optuna",
    "model.units=8",
    "hydra/sweeper/sampler=random",
    "hydra.sweeper.sampler.seed=5",
]
SOAK_LIMIT_S = 540
TRIAL_LINE = re.compile(r"^\[\d+/\d+\]", re.MULTILINE)
KILLS, KILL_EVERY_S = 6, 15


def _busy_workers() -> list[psutil.Process]:
    """This test's Ray workers that are running a trial now (Ray titles them after the task)."""
    busy = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.cmdline()[:1] and child.cmdline()[0].startswith("ray::run_job_in_worker"):
                busy.append(child)
        except psutil.Error:
            continue
    return busy


class Chaos(threading.Thread):
    """Kills a busy worker every KILL_EVERY_S seconds; restarts PostgreSQL and `mlflow server` once each."""

    def __init__(self, postgres, tracking_server, sweep: subprocess.Popen) -> None:
        super().__init__(daemon=True)
        self.postgres, self.tracking_server, self.sweep = postgres, tracking_server, sweep
        self.kills: list[int] = []
        self.restarts: list[str] = []
        self.errors: list[str] = []

    def run(self) -> None:
        try:
            self._run()
        except Exception as error:  # noqa: BLE001 - reported by the test, not lost in a thread
            self.errors.append(repr(error))

    def _run(self) -> None:
        start = time.monotonic()
        while not _busy_workers():  # the first trial is running
            if self.sweep.poll() is not None or time.monotonic() - start > 240:
                return
            time.sleep(0.2)
        next_kill = time.monotonic() + 5
        while len(self.kills) < KILLS and self.sweep.poll() is None:
            if len(self.kills) == 2 and "postgres" not in self.restarts:
                self.postgres.restart()
                self.restarts.append("postgres")
            if len(self.kills) == 4 and "mlflow" not in self.restarts:
                self.tracking_server.restart()
                self.restarts.append("mlflow")
            if time.monotonic() >= next_kill:
                busy = _busy_workers()
                if busy:
                    # Rather one whose trial has trained an epoch, so the kill loses some training.
                    trained = self._trained_pids()
                    victim = next((worker for worker in busy if worker.pid in trained), busy[0])
                    victim.kill()
                    self.kills.append(victim.pid)
                    next_kill = time.monotonic() + KILL_EVERY_S
            time.sleep(0.2)

    def _trained_pids(self) -> set[int]:
        """Workers whose running trial has logged an epoch (none while the server restarts).
        Plain requests with a 2 s timeout: MLflow's client would wait out the restart."""
        url = self.tracking_server.url
        try:
            experiment = requests.get(
                f"{url}/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "imdb"}, timeout=2
            ).json()["experiment"]["experiment_id"]
            body = {"experiment_ids": [experiment], "filter": "attributes.status = 'RUNNING'", "max_results": 100}
            runs = requests.post(f"{url}/api/2.0/mlflow/runs/search", json=body, timeout=2).json().get("runs", [])
        except (requests.RequestException, KeyError, ValueError):
            return set()
        pids = set()
        for run in runs:
            tags = {tag["key"]: tag["value"] for tag in run["data"].get("tags", [])}
            metrics = {metric["key"] for metric in run["data"].get("metrics", [])}
            if "worker_pid" in tags and "val_acc" in metrics:
                pids.add(int(tags["worker_pid"]))
        return pids


def _start(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("a") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "src.train", "-m", *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.fixture()
def sweep_env(cache_dir: Path) -> dict[str, str]:
    env = {**os.environ, "SEQSWEEP_CACHE_DIR": str(cache_dir)}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("RAY_ADDRESS", None)
    return env


def _only_study(storage: str) -> optuna.Study:
    (name,) = optuna.get_all_study_names(storage)
    return optuna.load_study(study_name=name, storage=storage)


def _epochs_logged(client: mlflow.MlflowClient, run_id: str) -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, "val_acc"))


def _resumed_after(run) -> int:
    """The epochs a trial's run continued after (its backup's), 0 when it started from scratch."""
    tag = run.get("tags.resumed_after_epoch")
    return int(tag) if isinstance(tag, str) else 0


def _backed_up_by(line: list, run_of: dict, client: mlflow.MlflowClient) -> int:
    """The last epoch a line of attempts (a trial and its reruns, all lost) had backed up: the
    latest any attempt logged or continued after. An attempt killed before its run was created
    left the backup as it found it; one that ended and closed its run had removed it."""
    last = 0
    for attempt in line:
        run = run_of.get(attempt.number)
        if run is None:
            continue
        if isinstance(run.get("tags.ended_before_lost"), str):
            last = 0
            continue
        last = max([last, _resumed_after(run), *_epochs_logged(client, run["run_id"])])
    return last


@pytest.mark.starts_ray
def test_a_sweep_under_worker_kills_and_store_restarts_ends_with_exactly_its_trials(
    tmp_path: Path, sweep_env, mini_archive: Path, ray_cluster, postgres_server
) -> None:
    study_url = postgres_server.create_database(f"optuna_soak_{time.monotonic_ns()}")
    tracking_db = postgres_server.create_database(f"mlflow_soak_{time.monotonic_ns()}")
    with restartable_server(tmp_path / "server", tracking_db) as tracking_server:
        args = [
            *STUDY,
            *SMALL,
            "hydra/launcher=ray",
            f"hydra.launcher.address={ray_cluster.address}",
            # A trial may be hit twice; each kill costs one rerun.
            "hydra.launcher.max_retries=3",
            "hydra.sweeper.n_trials=40",
            "hydra.sweeper.n_jobs=2",
            f"hydra.sweeper.storage={study_url}",
            f"tracking.tracking_uri={tracking_server.url}",
            f"data.source={mini_archive}",
        ]
        log = tmp_path / "soak.log"
        began = time.monotonic()
        process = _start(args, tmp_path, sweep_env, log)
        chaos = Chaos(postgres_server, tracking_server, process)
        chaos.start()
        try:
            code = process.wait(timeout=SOAK_LIMIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"the soak did not end within {SOAK_LIMIT_S} s:\n{log.read_text()[-4000:]}")
        finally:
            chaos.join(timeout=60)
        output = log.read_text()
        print(f"soak: {time.monotonic() - began:.0f} s, {len(chaos.kills)} kills, restarts {chaos.restarts}")
        assert not chaos.errors, chaos.errors
        assert code == 0, output[-4000:]
        assert len(chaos.kills) == KILLS and chaos.restarts == ["postgres", "mlflow"], (chaos.kills, chaos.restarts)

        study = _only_study(study_url)
        assert counted_trials(study) == 40, output[-3000:]
        assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
        mlflow.set_tracking_uri(tracking_server.url)
        runs = mlflow.search_runs(experiment_names=["imdb"])
        assert "RUNNING" not in set(runs["status"]), runs[runs["status"] == "RUNNING"][["tags.mlflow.runName"]]
        trials = runs[runs["tags.sweep"] != "true"]
        # Each Optuna trial was run, and told, once: one MLflow run each, whose end matches the trial's.
        assert trials["tags.optuna_trial"].is_unique, trials["tags.optuna_trial"].value_counts().head()
        ended = {"FINISHED": TrialState.COMPLETE, "KILLED": TrialState.PRUNED, "FAILED": TrialState.FAIL}
        for _, run in trials.iterrows():
            trial = study.trials[int(run["tags.optuna_trial"])]
            assert ended[run["status"]] == trial.state, (run["tags.optuna_trial"], run["status"], trial.state)
        assert "UpdateFinishedTrialError" not in output and "Traceback" not in output

        # Every lost trial ran again, and its rerun continued from its last backed-up epoch.
        client = mlflow.MlflowClient()
        run_of = {int(run["tags.optuna_trial"]): run for _, run in trials.iterrows()}
        lost = [t for t in study.trials if t.user_attrs.get("failure") == INFRASTRUCTURE]
        assert len(lost) == KILLS, [t.number for t in lost]
        continued = ended_in_worker = 0
        for trial in lost:
            # Reruns name the first trial of their line (Optuna's retry callback): this one's is the next of them.
            origin = trial.user_attrs.get("retry_of", trial.number)
            rerun = min(
                (t for t in study.trials if t.user_attrs.get("retry_of") == origin and t.number > trial.number),
                key=lambda t: t.number,
            )
            # A worker killed while it started a trial (importing TensorFlow) left no run at all.
            if rerun.number not in run_of:  # the rerun itself was killed while it started
                continue
            if trial.number in run_of and isinstance(run_of[trial.number].get("tags.ended_before_lost"), str):
                # The trial had ended (finished, or stopped by the pruner) and closed its run, so
                # removed its backup, before the kill landed while the worker returned: the sweep
                # marked the run FAILED (checked above) and its rerun starts over.
                ended_in_worker += 1
                continue
            resumed = _resumed_after(run_of[rerun.number])
            lost_from = _resumed_after(run_of[trial.number]) if trial.number in run_of else 0
            line = sorted(
                (t for t in study.trials if t.number <= trial.number and origin in (t.number, t.user_attrs.get("retry_of"))),
                key=lambda t: t.number,
            )
            last = _backed_up_by(line, run_of, client)
            # Killed between an epoch's log and its backup, the rerun repeats that one epoch.
            assert resumed in (last, last - 1) and resumed >= lost_from, (trial.number, lost_from, last, resumed)
            assert _epochs_logged(client, run_of[rerun.number]["run_id"])[:1] in ([], [resumed + 1])
            continued += resumed > 0
        print(
            f"soak: {len(lost)} lost trials, {continued} continued from their backup, {ended_in_worker} ended before the kill"
        )


def test_a_store_away_longer_than_the_sweep_waits_stops_it_and_the_same_command_resumes(
    tmp_path: Path, sweep_env, mini_archive: Path, postgres_server
) -> None:
    study_url = postgres_server.create_database(f"optuna_outage_{time.monotonic_ns()}")
    tracking_db = postgres_server.create_database(f"mlflow_outage_{time.monotonic_ns()}")
    with restartable_server(tmp_path / "server", tracking_db) as tracking_server:
        args = [
            *STUDY,
            *SMALL,
            "hydra.sweeper.n_trials=6",
            f"hydra.sweeper.storage={study_url}",
            "hydra.sweeper.store_outage_s=10",
            "tracking.outage_s=10",
            f"tracking.tracking_uri={tracking_server.url}",
            f"data.source={mini_archive}",
        ]
        log = tmp_path / "outage.log"
        process = _start(args, tmp_path, sweep_env, log)
        deadline = time.monotonic() + 240
        while len(TRIAL_LINE.findall(log.read_text())) < 2 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)  # two trials ended
        postgres_server.stop()
        stopped_at = time.monotonic()
        try:
            code = process.wait(timeout=120)
            waited = time.monotonic() - stopped_at
        finally:
            postgres_server.start()
        output = log.read_text()
        assert code == 1, output[-3000:]
        # The 10 s waited for the study, then at most as long again trying to record the parent
        # run's end, plus the command's own exit.
        assert waited < 40, (waited, output[-3000:])
        print(f"the sweep stopped {waited:.1f} s after its store did")
        errors = [line for line in output.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and "did not answer for 10 s" in errors[0], output[-3000:]
        assert "Traceback" not in output

        resumed = _start(args, tmp_path, sweep_env, log)
        assert resumed.wait(timeout=300) == 0, log.read_text()[-3000:]
        study = _only_study(study_url)
        assert counted_trials(study) == 6
        assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
        mlflow.set_tracking_uri(tracking_server.url)
        runs = mlflow.search_runs(experiment_names=["imdb"])
        assert "RUNNING" not in set(runs["status"])
