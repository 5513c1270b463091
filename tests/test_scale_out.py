"""Sweeps on Ray, on shared stores, with exact budgets: the real CLI, real Ray, PostgreSQL and `mlflow server`.

Every test runs `python -m src.train -m ...` as users do, on tiny IMDB models of the test archive,
and reads the outcome back from the stores (MLflow runs, the Optuna study):

- a grid on a local Ray runs two trials at a time under one parent run;
- an Optuna sweep on a local Ray keeps two trials in flight and ends with exactly n_trials;
- on a two-node Ray cluster with PostgreSQL and `mlflow server`: trials run on both nodes, a
  trial whose worker is killed runs again with the same parameters, a sweeping process killed
  mid-sweep resumes with the same command: nothing lost, duplicated or left RUNNING;
- three sweeping processes on one PostgreSQL study never pass its n_trials together.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import optuna
import pandas as pd
import psutil
import pytest
from optuna.trial import TrialState

from hydra_plugins.seqsweep_plugins.optuna_sweeper.study import INFRASTRUCTURE, counted_trials

# The session's two-node Ray cluster on loopback (fixture `ray_cluster`).
pytest_plugins = ["tests.fixtures.ray_cluster"]
pytestmark = [pytest.mark.slow, pytest.mark.starts_ray]

TINY = ["model.units=4", "model.embedding_dim=8", "data.num_words=500", "data.maxlen=20", "data.n_train=60", "data.n_test=50"]
# The preset's search space, with the layer sizes and dropouts fixed small: what is searched is
# the recurrent layer, the optimizer and its learning rate.
OPTUNA = [
    "+sweeps=imdb_optuna",
    "model.dropout=0.0",
    "model.recurrent_dropout=0.0",
    "hydra/sweeper/sampler=random",
    "hydra.sweeper.sampler.seed=3",
]
# A whole sweep must end within this (they take well under a minute each when the machine is free).
SWEEP_LIMIT_S = 420
ENDED_BY_THEMSELVES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@pytest.fixture()
def sweep(tmp_path: Path, cache_dir: Path, mini_archive: Path):
    """`start(*args, cwd=tmp_path) -> (process, log)`: `python -m src.train -m ARGS` on the test archive, in the background."""
    env = {**os.environ, "SEQSWEEP_CACHE_DIR": str(cache_dir)}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("RAY_ADDRESS", None)
    started: list[subprocess.Popen] = []

    def start(*args: str, cwd: Path = tmp_path) -> tuple[subprocess.Popen, Path]:
        cwd.mkdir(parents=True, exist_ok=True)
        log = cwd / f"sweep-{len(started)}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "src.train", "-m", *TINY, *args, f"data.source={mini_archive}"],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process, log

    yield start
    for process in started:  # a test that failed midway leaves no sweep running
        if process.poll() is None:
            process.kill()
            process.wait()


def finished(process: subprocess.Popen, log: Path, timeout: float = SWEEP_LIMIT_S) -> str:
    """The sweep's console output once it exited 0 (the test fails with its tail otherwise)."""
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"the sweep did not end within {timeout:g} s:\n{log.read_text()[-4000:]}")
    output = log.read_text()
    assert code == 0, output[-4000:]
    return output


def mlflow_runs(tracking_uri: str, experiment: str = "imdb") -> pd.DataFrame:
    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.search_runs(experiment_names=[experiment])


def children_of(runs: pd.DataFrame, parent_ids: pd.Series) -> pd.DataFrame:
    return runs[runs["tags.mlflow.parentRunId"].isin(set(parent_ids))]


def most_at_once(runs: pd.DataFrame) -> int:
    """The largest number of runs that were RUNNING at the same moment (from their start and end times)."""
    events = sorted([(t, 1) for t in runs["start_time"]] + [(t, -1) for t in runs["end_time"]], key=lambda e: (e[0], e[1]))
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def optuna_database(postgres_server) -> str:
    """A database of its own for the study: `postgres_url` backs the MLflow server, and MLflow and
    Optuna both keep their schema version in an `alembic_version` table (sharing one database,
    Optuna refuses MLflow's version as an incompatible schema)."""
    return postgres_server.create_database(f"optuna_{time.monotonic_ns()}")


def only_study(storage: str) -> optuna.Study:
    (name,) = optuna.get_all_study_names(storage)
    return optuna.load_study(study_name=name, storage=storage)


# -- one machine, a local Ray ---------------------------------------------------------------------


def test_a_grid_on_ray_runs_two_trials_at_a_time_under_one_parent(tmp_path: Path, sweep) -> None:
    began = time.monotonic()
    process, log = sweep("hydra/launcher=ray", "model=simplernn,lstm,gru", "data.n_train=60,80", "trainer.epochs=4")
    output = finished(process, log)
    print(f"grid of 6 on a local Ray: {time.monotonic() - began:.1f} s")

    runs = mlflow_runs(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    parents = runs[runs["tags.sweep"] == "true"]
    assert len(parents) == 1 and parents["status"].iloc[0] == "FINISHED"
    trials = children_of(runs, parents["run_id"])
    assert len(trials) == 6 and set(trials["status"]) == {"FINISHED"}, trials[["status", "tags.mlflow.runName"]]
    assert sorted(zip(trials["params.model.name"], trials["params.data.n_train"])) == sorted(
        (model, n) for model in ("simplernn", "lstm", "gru") for n in ("60", "80")
    )
    assert trials["tags.node"].notna().all() and (trials["tags.node"] != "").all()
    # Two cores, one CPU per trial: two trials at a time, never more.
    assert most_at_once(trials) == 2, trials[["start_time", "end_time"]]
    assert "grid of 6 trial(s)" in output


def test_an_optuna_sweep_on_ray_keeps_two_trials_in_flight_and_ends_with_exactly_n_trials(tmp_path: Path, sweep) -> None:
    began = time.monotonic()
    process, log = sweep(
        *OPTUNA,
        "hydra/launcher=ray",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.n_trials=6",
        "trainer.epochs=5",
        "hydra.sweeper.pruner.n_startup_trials=2",
        "hydra.sweeper.pruner.n_warmup_steps=0",
    )
    output = finished(process, log)
    print(f"Optuna sweep of 6 on a local Ray: {time.monotonic() - began:.1f} s")

    study = only_study(f"sqlite:///{tmp_path / 'mlruns' / 'optuna.db'}")
    states = [t.state for t in study.trials]
    assert counted_trials(study) == 6 and len(study.trials) == 6 and all(s in ENDED_BY_THEMSELVES for s in states), states
    pruned = states.count(TrialState.PRUNED)
    print(f"Optuna sweep of 6 on a local Ray: {states.count(TrialState.COMPLETE)} complete, {pruned} pruned")
    runs = mlflow_runs(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    parents = runs[runs["tags.sweep"] == "true"]
    assert len(parents) == 1 and parents["status"].iloc[0] == "FINISHED"
    trials = children_of(runs, parents["run_id"])
    assert sorted(trials["tags.optuna_trial"].astype(int)) == list(range(6))
    assert "RUNNING" not in set(trials["status"])
    # A pruned trial's run is KILLED with the epoch it stopped at; the others FINISHED.
    assert (trials["status"] == "KILLED").sum() == pruned
    assert most_at_once(trials) == 2
    assert "study '" in output


# -- a two-node Ray cluster, PostgreSQL and `mlflow server` ----------------------------------------


def _running_trial(
    tracking_uri: str, earlier: set[str], log: Path, node_id: str | None = None, timeout: float = 180
) -> pd.Series:
    """A trial run, not one of the `earlier` runs (and on the Ray node `node_id`, if given), that
    is RUNNING now, as soon as there is one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            runs = mlflow_runs(tracking_uri)
        except mlflow.exceptions.MlflowException:  # no experiment yet
            runs = pd.DataFrame()
        if "tags.worker_pid" in runs:
            running = runs[(runs["status"] == "RUNNING") & runs["tags.worker_pid"].notna() & ~runs["run_id"].isin(earlier)]
            if node_id is not None:
                running = running[running["tags.ray_node_id"] == node_id]
            if len(running):
                return running.iloc[0]
        time.sleep(0.3)
    pytest.fail(f"no trial started running{f' on node {node_id}' if node_id else ''}:\n{log.read_text()[-4000:]}")


def _kill_our_descendant(pid: int) -> None:
    """kill -9 `pid`, which must be a process this test started (a Ray worker of the session's cluster)."""
    ours = {child.pid for child in psutil.Process().children(recursive=True)}
    assert pid in ours, f"pid {pid} is not a process of this test's Ray cluster"
    os.kill(pid, signal.SIGKILL)


def _nothing_running(study: optuna.Study, runs: pd.DataFrame) -> None:
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING)), "Optuna trials left RUNNING or WAITING"
    assert "RUNNING" not in set(runs["status"]), runs[runs["status"] == "RUNNING"][["tags.mlflow.runName", "tags.sweep"]]


def test_on_two_nodes_a_killed_worker_and_a_killed_sweep_lose_and_duplicate_nothing(
    tmp_path: Path, sweep, ray_cluster, postgres_server, postgres_url: str, mlflow_server: str
) -> None:
    study_name = "two-nodes"
    postgres_url = optuna_database(postgres_server)
    common = [
        *OPTUNA,
        "hydra/launcher=ray",
        f"hydra.launcher.address={ray_cluster.address}",
        "hydra.sweeper.n_jobs=2",
        f"hydra.sweeper.storage={postgres_url}",
        f"hydra.sweeper.study_name={study_name}",
        f"tracking.tracking_uri={mlflow_server}",
        "trainer.epochs=6",
    ]

    # 1. A trial's worker is killed: the trial is lost, recorded, and run again with its parameters.
    began = time.monotonic()
    process, log = sweep(*common, "hydra.sweeper.n_trials=4")
    victim = _running_trial(mlflow_server, earlier=set(), log=log)
    _kill_our_descendant(int(victim["tags.worker_pid"]))
    output = finished(process, log)
    print(f"two nodes, 4 trials, one worker killed: {time.monotonic() - began:.1f} s")

    study = optuna.load_study(study_name=study_name, storage=postgres_url)
    lost = study.trials[int(victim["tags.optuna_trial"])]
    assert lost.state == TrialState.FAIL and lost.user_attrs["failure"] == INFRASTRUCTURE
    assert "WorkerCrashedError" in lost.user_attrs["error"]
    (rerun,) = [t for t in study.trials if t.user_attrs.get("retry_of") == lost.number]
    assert rerun.params == lost.params and rerun.state in (TrialState.COMPLETE, TrialState.PRUNED)
    assert counted_trials(study) == 4 and len(study.trials) == 5
    runs = mlflow_runs(mlflow_server)
    _nothing_running(study, runs)
    victim_run = runs.set_index("run_id").loc[victim["run_id"]]
    assert victim_run["status"] == "FAILED" and "WorkerCrashedError" in victim_run["tags.error"]
    assert (runs["tags.retry_of"] == str(lost.number)).sum() == 1
    # Trials ran on both nodes of the cluster.
    assert set(runs["tags.ray_node_id"].dropna()) == ray_cluster.node_ids()
    assert f"trial #{lost.number} lost" in output

    # 2. The sweeping process is killed mid-sweep; the same command resumes the study.
    first_runs = set(runs["run_id"])
    began = time.monotonic()
    process, log = sweep(*common, "hydra.sweeper.n_trials=8")
    _running_trial(mlflow_server, earlier=first_runs, log=log)
    process.kill()
    process.wait()
    resumed, log = sweep(*common, "hydra.sweeper.n_trials=8")
    output = finished(resumed, log)
    print(f"two nodes, sweep of 8 killed during a trial and resumed: {time.monotonic() - began:.1f} s")

    study = optuna.load_study(study_name=study_name, storage=postgres_url)
    runs = mlflow_runs(mlflow_server)
    _nothing_running(study, runs)
    assert counted_trials(study) == 8
    # Every trial the killed sweep left behind is FAIL (infrastructure) and has exactly one rerun
    # with its parameters; no other trial was repeated.
    abandoned = [t for t in study.trials if t.user_attrs.get("failure") == INFRASTRUCTURE and t.number != lost.number]
    assert abandoned, "the killed sweep had trials running"
    for trial in abandoned:
        (again,) = [t for t in study.trials if t.user_attrs.get("retry_of") == trial.number]
        assert again.params == trial.params
    assert len(study.trials) == 8 + 1 + len(abandoned)
    trials = runs[runs["tags.sweep"] != "true"]
    # One MLflow run per trial the workers started, none twice; each ended trial's run closed as it ended.
    assert trials["tags.optuna_trial"].is_unique
    ended = {t.number: t.state for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)}
    for _, run in trials.iterrows():
        number = int(run["tags.optuna_trial"])
        expected = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "KILLED"}.get(ended.get(number), "FAILED")
        assert run["status"] == expected, (number, run["status"])
    parents = runs[runs["tags.sweep"] == "true"].set_index("run_id")
    assert len(parents) == 3 and set(parents["tags.optuna_study"]) == {study_name}
    killed_parent = parents.drop(index=[r for r in parents.index if r in first_runs]).sort_values("start_time").iloc[0]
    assert killed_parent["status"] == "KILLED" and parents.sort_values("start_time")["status"].iloc[-1] == "FINISHED"
    assert "marked FAIL, it runs again" in output


def test_on_two_nodes_a_removed_worker_node_loses_its_trial_and_the_sweep_finishes_on_the_head(
    tmp_path: Path, sweep, ray_cluster, postgres_server, postgres_url: str, mlflow_server: str
) -> None:
    postgres_url = optuna_database(postgres_server)
    worker_id = ray_cluster.worker.node_id
    began = time.monotonic()
    process, log = sweep(
        *OPTUNA,
        "hydra/launcher=ray",
        f"hydra.launcher.address={ray_cluster.address}",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.n_trials=4",
        f"hydra.sweeper.storage={postgres_url}",
        "hydra.sweeper.study_name=node-removed",
        f"tracking.tracking_uri={mlflow_server}",
        "trainer.epochs=6",
    )
    try:
        victim = _running_trial(mlflow_server, earlier=set(), log=log, node_id=worker_id)
        removed_at = pd.Timestamp.now(tz="UTC")
        ray_cluster.cluster.remove_node(ray_cluster.worker)
        output = finished(process, log)
    finally:
        ray_cluster.replace_worker()
    print(f"two nodes, 4 trials, the worker node removed mid-sweep: {time.monotonic() - began:.1f} s")

    study = optuna.load_study(study_name="node-removed", storage=postgres_url)
    runs = mlflow_runs(mlflow_server)
    _nothing_running(study, runs)
    assert counted_trials(study) == 4
    # The trial that ran on the removed node is lost (an infrastructure failure, its run FAILED)
    # and runs again, once, with its parameters.
    lost = study.trials[int(victim["tags.optuna_trial"])]
    assert lost.state == TrialState.FAIL and lost.user_attrs["failure"] == INFRASTRUCTURE, lost.user_attrs
    (rerun,) = [t for t in study.trials if t.user_attrs.get("retry_of") == lost.number]
    assert rerun.params == lost.params and rerun.state in (TrialState.COMPLETE, TrialState.PRUNED)
    assert len(study.trials) == 5
    assert runs.set_index("run_id").loc[victim["run_id"], "status"] == "FAILED"
    # Every trial that started after the removal ran on the head.
    trials = runs[runs["tags.sweep"] != "true"]
    later = trials[trials["start_time"] > removed_at]
    assert len(later) >= 1 and set(later["tags.ray_node_id"]) == {ray_cluster.head_id}
    # The lost trial's line does not count toward the budget the progress shows.
    assert f"trial #{lost.number} lost" in output and "[lost]" in output
    assert "[4/4]" in output and "[5/4]" not in output


def test_on_two_nodes_a_killed_grid_sweep_resumes_under_its_parent_with_only_the_missing_points(
    tmp_path: Path, sweep, ray_cluster, postgres_url: str, mlflow_server: str
) -> None:
    # postgres_url: the MLflow server's store is that PostgreSQL database.
    grid = [
        "hydra/launcher=ray",
        f"hydra.launcher.address={ray_cluster.address}",
        "model=simplernn,lstm",
        "data.n_train=60,80",
        f"tracking.tracking_uri={mlflow_server}",
        "trainer.epochs=6",
    ]
    began = time.monotonic()
    process, log = sweep(*grid)
    _running_trial(mlflow_server, earlier=set(), log=log)
    process.kill()
    process.wait()
    resumed, log = sweep(*grid, "hydra.sweeper.resume=last")
    output = finished(resumed, log)
    print(f"two nodes, grid of 4 killed during a trial and resumed: {time.monotonic() - began:.1f} s")

    runs = mlflow_runs(mlflow_server)
    assert "RUNNING" not in set(runs["status"])
    parents = runs[runs["tags.sweep"] == "true"]
    assert len(parents) == 1 and parents["status"].iloc[0] == "FINISHED"
    trials = children_of(runs, parents["run_id"])
    done = trials[trials["status"] == "FINISHED"]
    # Each point finished exactly once; the runs the killed sweep left are FAILED, not RUNNING.
    assert sorted(zip(done["params.model.name"], done["params.data.n_train"])) == sorted(
        (model, n) for model in ("simplernn", "lstm") for n in ("60", "80")
    )
    assert set(trials["status"]) <= {"FINISHED", "FAILED"} and trials["tags.mlflow.runName"].is_unique
    assert "resuming: " in output


# -- several sweeping processes on one study ----------------------------------------------------------


def test_three_sweeping_processes_on_one_postgresql_study_stop_at_n_trials_together(
    tmp_path: Path, sweep, postgres_server, postgres_url: str, mlflow_server: str
) -> None:
    postgres_url = optuna_database(postgres_server)
    began = time.monotonic()
    common = [
        *OPTUNA,
        f"hydra.sweeper.storage={postgres_url}",
        "hydra.sweeper.study_name=shared",
        "hydra.sweeper.n_trials=6",
        f"tracking.tracking_uri={mlflow_server}",
        "trainer.epochs=2",
    ]
    started = [sweep(*common, cwd=tmp_path / f"machine-{n}") for n in range(3)]
    for process, log in started:
        finished(process, log)
    print(f"three processes, one study of 6: {time.monotonic() - began:.1f} s")

    study = optuna.load_study(study_name="shared", storage=postgres_url)
    assert counted_trials(study) == 6 and len(study.trials) == 6, [t.state for t in study.trials]
    runs = mlflow_runs(mlflow_server)
    assert "RUNNING" not in set(runs["status"])
    parents = runs[runs["tags.sweep"] == "true"]
    assert len(parents) == 3 and set(parents["status"]) == {"FINISHED"}
    assert set(parents["tags.optuna_study"]) == {"shared"} and parents["tags.sweep_owner"].is_unique
    trials = children_of(runs, parents["run_id"])
    assert sorted(trials["tags.optuna_trial"].astype(int)) == list(range(6))
