"""Faults replayed on whole sweeps: `python -m src.train -m ...` in real subprocesses on tiny data.

Secrets on the command line, three sweeps started together, a seeded resume, stores broken
before and during a sweep, and the exit code of sweeps whose trials diverge. tests/faults/
test_stores.py proves the same store faults at the level of `connect()`; these prove what the
user of a sweep sees: one line, a non-zero exit, no trial started, nothing written that should
not be.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import optuna
import pandas as pd
import pytest

from tests.faults.test_stores import _limit_file_size, _without_permission_override
from tests.fixtures import free_loopback_port
from tests.fixtures.mlflow_server import restartable_server
from tests.fixtures.postgres import postgres_binaries
from tests.fixtures.tiny_trial import TINY_TRIAL

pytestmark = pytest.mark.slow

TINY = [*TINY_TRIAL, "trainer.epochs=1"]
SWEEP_TIMEOUT_S = 300


@pytest.fixture()
def sweep(tmp_path: Path, cache_dir: Path, mini_archive: Path):
    """`run(*args, env=None, preexec=None, cwd=tmp_path) -> (CompletedProcess, seconds)`: one
    `python -m src.train -m TINY... ARGS data.source=MINI` in `cwd`, its own ./mlruns store."""

    def run(*args: str, env: dict[str, str] | None = None, preexec=None, cwd: Path = tmp_path, imdb: bool = True):
        tiny = [*TINY, f"data.source={mini_archive}"] if imdb else []
        command = [sys.executable, "-m", "src.train", "-m", *tiny, *args]
        started = time.monotonic()
        # preexec_fn: the limits under test must hold from the child's first instruction; the tests start no threads.
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env or sweep_env(cache_dir),
            capture_output=True,
            text=True,
            timeout=SWEEP_TIMEOUT_S,
            preexec_fn=preexec,
            check=False,
        )  # noqa: PLW1509
        return done, time.monotonic() - started

    return run


def sweep_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "SEQSWEEP_CACHE_DIR": str(cache_dir), **extra}
    if "MLFLOW_TRACKING_URI" not in extra:
        env.pop("MLFLOW_TRACKING_URI", None)
    return env


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def runs_of(uri: str, experiment: str = "imdb") -> pd.DataFrame:
    mlflow.set_tracking_uri(uri)
    return mlflow.search_runs(experiment_names=[experiment])


def pg_dump(url: str) -> str:
    """The whole database as SQL text (tables and rows), read with Debian's pg_dump."""
    binaries = postgres_binaries()
    rest = url.split("://", 1)[1]
    credentials, location = rest.split("@", 1)
    user, password = credentials.split(":", 1)
    host_port, database = location.split("/", 1)
    host, port = host_port.split(":")
    done = subprocess.run(
        [binaries / "pg_dump", "-h", host, "-p", port, "-U", user, database],
        capture_output=True,
        text=True,
        env={**os.environ, "PGPASSWORD": password},
        check=True,
        timeout=60,
    )
    return done.stdout


# --- 1. secrets --------------------------------------------------------------------------------


def test_passwords_on_the_command_line_are_written_nowhere(
    sweep, tmp_path, cache_dir, postgres_server, postgres_url, mlflow_server
):
    """Optuna storage on PostgreSQL and MLflow on a server (backed by `postgres_url`), both URLs
    with a password typed on the command line; then an export. Neither password is in any file,
    console line, MLflow's or Optuna's database."""
    # A database of its own: MLflow's and Optuna's schemas cannot share one (both keep an alembic_version table).
    storage = postgres_server.create_database("optuna_" + os.urandom(4).hex())
    storage_password = postgres_server.password
    tracking_password = "TrackingPw-" + os.urandom(6).hex()
    tracking_uri = mlflow_server.replace("http://", f"http://alice:{tracking_password}@")
    done, seconds = sweep(
        "hydra/sweeper=optuna",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.sampler.seed=0",
        "optimizer.learning_rate=interval(1e-3, 1e-1)",
        f"tracking.tracking_uri={tracking_uri}",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # An unreachable store is reported with its URL: the line masks the password too.
    broken, _ = sweep(f"tracking.tracking_uri=http://alice:{tracking_password}@127.0.0.1:{free_loopback_port()}")
    assert broken.returncode != 0 and "alice:***@127.0.0.1" in broken.stderr, broken.stderr[-2000:]
    exported = subprocess.run(
        [sys.executable, "-m", "src.export", "--out", str(tmp_path / "export"), "--experiment", "imdb"],
        cwd=tmp_path,
        env=sweep_env(cache_dir, MLFLOW_TRACKING_URI=tracking_uri),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert exported.returncode == 0, exported.stdout[-2000:] + exported.stderr[-2000:]
    assert (tmp_path / "export" / "trials.csv").is_file()
    assert list((tmp_path / "multirun").rglob("hydra.yaml")), "the sweep wrote its job folders"

    texts = {
        "sweep console": done.stdout + done.stderr,
        "broken-store console": broken.stdout + broken.stderr,
        "export console": exported.stdout + exported.stderr,
        "MLflow's database": pg_dump(postgres_url),
        "Optuna's database": pg_dump(storage),
    }
    # tmp_path holds the sweep's multirun/ folder, the export, and the MLflow server's artifact
    # folder and log (the mlflow_server fixture keeps them under tmp_path/server).
    texts.update(
        {str(p.relative_to(tmp_path)): p.read_bytes().decode(errors="replace") for p in tmp_path.rglob("*") if p.is_file()}
    )
    leaks = [
        f"{where}: ...{text[max(text.index(secret) - 150, 0) : text.index(secret)]}"
        for where, text in texts.items()
        for secret in (storage_password, tracking_password)
        if secret in text
    ]
    assert leaks == [], "\n".join(leaks)
    assert list((tmp_path / "server" / "artifacts").rglob("config.yaml")), "the trials logged their artifacts"
    runs = runs_of(tracking_uri)
    assert (runs["params.tracking.tracking_uri"].dropna() == mlflow_server.replace("http://", "http://alice:***@")).all()


# --- 2. concurrent starts ----------------------------------------------------------------------


def start_sweeps_together(sweep_args: list[str], cwd: Path, env: dict[str, str], n: int = 3) -> list[tuple[int, str, str]]:
    command = [sys.executable, "-m", "src.train", "-m", *TINY, *sweep_args]
    processes = [
        subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(n)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=SWEEP_TIMEOUT_S)
        results.append((process.returncode, out, err))
    return results


def assert_three_separate_sweeps(results: list[tuple[int, str, str]], runs: pd.DataFrame, cwd: Path) -> None:
    assert [code for code, _, _ in results] == [0, 0, 0], [err[-2000:] for _, _, err in results]
    parents = runs[runs["tags.sweep"] == "true"]
    assert len(parents) == 3 and set(parents["status"]) == {"FINISHED"}
    assert parents["tags.mlflow.runName"].is_unique, list(parents["tags.mlflow.runName"])
    assert parents["tags.sweep_dir"].is_unique, list(parents["tags.sweep_dir"])
    for folder in parents["tags.sweep_dir"]:  # each with its own multirun.yaml and its own two job folders
        assert (cwd / folder / "multirun.yaml").is_file()
        assert sorted(p.parent.parent.name for p in (cwd / folder).glob("*/.hydra/overrides.yaml")) == ["0", "1"]
    children = runs[runs["tags.sweep"] != "true"]
    assert len(children) == 6 and set(children["status"]) == {"FINISHED"}
    assert set(children["tags.mlflow.parentRunId"]) == set(parents["run_id"])
    assert (children.groupby("tags.mlflow.parentRunId").size() == 2).all()


def test_three_grid_sweeps_started_together_on_a_fresh_sqlite_store(tmp_path, cache_dir, mini_archive, run_cli):
    results = start_sweeps_together(["model.units=4,5", f"data.source={mini_archive}"], tmp_path, sweep_env(cache_dir))
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert_three_separate_sweeps(results, runs_of(uri), tmp_path)
    with sqlite3.connect(tmp_path / "mlruns" / "mlflow.db") as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert not [t for t in tables if t.startswith("_alembic_tmp")]
    run_cli(*TINY)  # a later run on the same store still works
    assert len(runs_of(uri)) == 10


def test_three_grid_sweeps_started_together_on_a_fresh_postgres_store(
    tmp_path, cache_dir, mini_archive, postgres_url, run_cli
):
    results = start_sweeps_together(
        ["model.units=4,5", f"data.source={mini_archive}", f"tracking.tracking_uri={postgres_url}"],
        tmp_path,
        sweep_env(cache_dir),
    )
    assert_three_separate_sweeps(results, runs_of(postgres_url), tmp_path)
    run_cli(*TINY, f"tracking.tracking_uri={postgres_url}")
    assert len(runs_of(postgres_url)) == 10


# --- 3. seeded resume --------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_a_resumed_seeded_study_repeats_no_parameters(sweep, tmp_path, sampler):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    # Two continuous parameters: two trials with the same values only come from a repeated sequence.
    study_args = [
        "hydra/sweeper=optuna",
        f"hydra/sweeper/sampler={sampler}",
        "hydra.sweeper.sampler.seed=7",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.study_name=resume",
        "optimizer.learning_rate=interval(1e-4, 1e-1)",
        "model.dropout=interval(0.0, 0.5)",
    ]
    first, _ = sweep(*study_args, "hydra.sweeper.n_trials=3")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    resumed, _ = sweep(*study_args, "hydra.sweeper.n_trials=6")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    trials = optuna.load_study(study_name="resume", storage=storage).trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 6
    earlier = {tuple(sorted(t.params.items())) for t in trials[:3]}
    later = {tuple(sorted(t.params.items())) for t in trials[3:]}
    assert len(later) == 3 and not earlier & later, (earlier, later)
    for key in ("optimizer.learning_rate", "model.dropout"):
        assert len({t.params[key] for t in trials}) == 6, [t.params for t in trials]


# --- 4. broken stores, before any training --------------------------------------------------------

TIME_TO_FAIL: dict[str, float] = {}


def assert_stops_before_training(done: subprocess.CompletedProcess, seconds: float, name: str, *expected: str) -> str:
    assert done.returncode not in (0, None), done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    (line,) = error_lines(done.stderr)
    for text in expected:
        assert text in line, line
    assert "trial #0 starts" not in done.stdout and "[trial]" not in done.stdout, done.stdout[-3000:]
    TIME_TO_FAIL[name] = seconds
    print(f"\n{name}: exit {done.returncode} after {seconds:.1f} s: {line}")
    return line


def test_corrupt_store_stops_the_sweep_before_training(sweep, tmp_path):
    database = tmp_path / "mlruns" / "mlflow.db"
    database.parent.mkdir()
    database.write_bytes(os.urandom(64 * 1024))
    done, seconds = sweep("model.units=4,5")
    assert_stops_before_training(done, seconds, "corrupt mlflow.db", str(database), "the database file is corrupt")


def test_read_only_store_stops_the_sweep_before_training(sweep, tmp_path, run_cli):
    run_cli(*TINY)  # the store exists, made while writable
    store = tmp_path / "mlruns"
    for path in store.iterdir():
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    store.chmod(0o555)
    try:
        preexec = _without_permission_override if os.geteuid() == 0 else None
        done, seconds = sweep("model.units=4,5", preexec=preexec)
    except subprocess.SubprocessError as error:  # prctl refused: no CAP_SETPCAP in this container
        pytest.skip(f"root here cannot give up CAP_DAC_OVERRIDE, so permissions cannot apply ({error})")
    finally:
        store.chmod(0o755)
    assert_stops_before_training(done, seconds, "read-only mlruns", str(store / "mlflow.db"), "not writable")


def test_unreachable_tracking_server_stops_the_sweep_before_training(sweep):
    done, seconds = sweep("model.units=4,5", f"tracking.tracking_uri=http://127.0.0.1:{free_loopback_port()}")
    assert_stops_before_training(done, seconds, "tracking server down", "127.0.0.1", "the server is unreachable")


def test_full_disk_stops_the_sweep_before_training(sweep, tmp_path, run_cli):
    # The data cache is filled first (a run with the same data), so the limit hits the store.
    run_cli(*TINY, "tracking.tracking_uri=sqlite:///warm/mlflow.db")
    database = tmp_path / "mlruns" / "mlflow.db"
    done, seconds = sweep("model.units=4,5", preexec=_limit_file_size(200_000))
    assert_stops_before_training(done, seconds, "full disk (RLIMIT_FSIZE 200 kB)", str(database), "the disk refused a write")
    assert not database.exists()


# --- 5. a store that breaks mid-sweep ------------------------------------------------------------


def test_a_tracking_server_lost_mid_sweep_stops_the_sweep(tmp_path, cache_dir, mini_archive):
    """The server is stopped while the second of four trials runs: the sweep starts no further
    trial, exits non-zero, and no run is FINISHED without its metrics."""
    server_dir = tmp_path / "server"
    backend = f"sqlite:///{server_dir / 'mlflow.db'}"
    log = tmp_path / "sweep.log"
    sweep_process = None
    with restartable_server(server_dir, backend) as server:
        try:
            command = [
                sys.executable,
                "-m",
                "src.train",
                "-m",
                *TINY,
                "model.units=4,5,6,7",
                # Long enough that the server stops while trial #1 trains (20 epochs of this tiny
                # model can end within the 3 s wait below).
                "trainer.epochs=200",
                f"tracking.tracking_uri={server.url}",
                # A server gone for good: waited for 5 s, not the default minute (a restart is waited out).
                "tracking.outage_s=5",
                f"data.source={mini_archive}",
            ]
            sweep_process = subprocess.Popen(
                command, cwd=tmp_path, env=sweep_env(cache_dir), stdout=log.open("w"), stderr=subprocess.STDOUT
            )
            deadline = time.monotonic() + 240
            while not re.search(r"^\[1/4\]", log.read_text(), flags=re.MULTILINE):  # trial #0 ended, so #1 starts
                assert sweep_process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
            time.sleep(3)  # inside the second trial's training
            stopped_at = time.monotonic()
            server.stop()
            code = sweep_process.wait(timeout=240)
            seconds = time.monotonic() - stopped_at
        finally:
            if sweep_process is not None and sweep_process.poll() is None:
                sweep_process.kill()
                sweep_process.wait()
    text = log.read_text()
    print(f"\nserver stopped mid-sweep: exit {code} {seconds:.1f} s later; last lines:\n" + "\n".join(text.splitlines()[-6:]))
    assert code not in (0, None), text[-3000:]
    assert "[3/4]" not in text and "[4/4]" not in text, text[-3000:]  # trials #2 and #3 never ran
    assert "Traceback" not in text, text[-3000:]
    assert error_lines(text)[-1:] and "127.0.0.1" in error_lines(text)[-1], text[-3000:]
    runs = runs_of(backend)
    children = runs[runs["tags.sweep"] != "true"]
    finished = children[children["status"] == "FINISHED"]
    assert len(finished) >= 1 and finished["metrics.val_acc"].notna().all(), children[["status", "metrics.val_acc"]]
    assert "FINISHED" not in set(runs[runs["tags.sweep"] == "true"]["status"])


# --- 6. exit codes ---------------------------------------------------------------------------------

# The model binary_addition picks, at its default size: with this learning rate the loss is NaN in the second epoch.
DIVERGING = [
    "data=binary_addition",
    "data.n_train=1000",
    "data.n_test=50",
    "trainer.epochs=2",
    "model.activation=relu",
    "optimizer=sgd",
]


def test_a_sweep_where_every_trial_diverges_exits_non_zero(sweep):
    done, _ = sweep(*DIVERGING, "optimizer.learning_rate=1e12,1e13", imdb=False)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stderr.strip().splitlines()[-1] == "error: every trial failed (2)", done.stderr[-3000:]
    assert ": 2 trial(s): 2 failed" in done.stdout, done.stdout[-3000:]


def test_a_sweep_where_some_trials_diverge_exits_zero_and_counts_them(sweep):
    done, _ = sweep(*DIVERGING, "optimizer.learning_rate=1e12,0.01", imdb=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "[sweep] sweep FINISHED in " in done.stdout and ": 2 trial(s): 1 complete, 1 failed" in done.stdout, done.stdout[
        -3000:
    ]


def test_credentials_from_a_password_file_and_a_service_file(sweep, tmp_path, cache_dir, postgres_server):
    """What docs/faults.md recommends: no password on the command line. The Optuna storage comes
    from the environment (`${oc.env:...}`); the MLflow store is a libpq service whose password
    libpq reads from $PGPASSFILE. The password is in no file the sweep wrote."""
    storage_db, tracking_db = "optuna_" + os.urandom(4).hex(), "mlflow_" + os.urandom(4).hex()
    postgres_server.create_database(storage_db)
    tracking_url = postgres_server.create_database(tracking_db)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{postgres_server.port}:*:seqsweep:{postgres_server.password}\n")
    pgpass.chmod(0o600)  # libpq ignores a password file others can read
    service = tmp_path / "pg_service.conf"
    service.write_text(f"[tracking]\nhost=127.0.0.1\nport={postgres_server.port}\ndbname={tracking_db}\nuser=seqsweep\n")
    storage_url = tracking_url.replace(tracking_db, storage_db)
    env = sweep_env(cache_dir, PGPASSFILE=str(pgpass), PGSERVICEFILE=str(service), SEQSWEEP_TEST_STORAGE=storage_url)
    done, _ = sweep(
        "hydra/sweeper=optuna",
        "hydra.sweeper.storage='${oc.env:SEQSWEEP_TEST_STORAGE}'",
        "hydra.sweeper.n_trials=1",
        "optimizer.learning_rate=interval(1e-3, 1e-1)",
        "tracking.tracking_uri='postgresql+psycopg:///?service=tracking'",
        env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    runs = runs_of(tracking_url)
    assert sorted(runs["status"]) == ["FINISHED", "FINISHED"]  # the parent and its trial
    assert len(optuna.get_all_study_summaries(storage_url)) == 1
    password = postgres_server.password.encode()
    written = [p for p in (tmp_path / "multirun").rglob("*") if p.is_file() and password in p.read_bytes()]
    assert written == [] and postgres_server.password not in done.stdout + done.stderr
