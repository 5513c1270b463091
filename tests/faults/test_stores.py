"""Stores that are shared, full, read-only, corrupt or unreachable.

`connect()` runs in real subprocesses here, as sweeps and trials run it: several at once on a
fresh store must all succeed (the schema is created once, under a lock), and a store that
cannot be written stops the process with one line naming the store and the cause.
"""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from omegaconf import OmegaConf

from src.tracking.store import connect, retry_schedule
from tests.fixtures import free_loopback_port

ROOT = Path(__file__).resolve().parents[2]
# What a sweep does first: open the store (proving it can write), then log a run into it.
CONNECT_AND_LOG = """
import sys
import mlflow
from omegaconf import OmegaConf
from src.errors import StoreError
from src.tracking.store import connect, retry_schedule

try:
    experiment_id = connect(OmegaConf.create({"tracking_uri": sys.argv[1], "experiment_name": sys.argv[2]}))
except StoreError as error:
    print(f"error: {error}", file=sys.stderr)
    sys.exit(1)
with mlflow.start_run(experiment_id=experiment_id):
    mlflow.log_metric("val_acc", 0.5)
print(experiment_id)
"""


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def start_connect(uri: str, home: Path, experiment: str = "imdb", preexec=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CONNECT_AND_LOG, uri, experiment],
        cwd=home,
        env=_env(home),
        # preexec_fn: the limits under test (RLIMIT_FSIZE, dropped capabilities) must be in place
        # before the child's first instruction; the tests start no threads of their own.
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,  # noqa: PLW1509
    )


def connect_once(uri: str, home: Path, preexec=None, timeout: float = 60) -> tuple[int, str, str]:
    process = start_connect(uri, home, preexec=preexec)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_one_line_error(code: int, stderr: str, *expected: str) -> str:
    assert code == 1, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    (line,) = error_lines(stderr)
    for text in expected:
        assert text in line, line
    return line


def sqlite_tables(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]


# --- concurrent starts ---------------------------------------------------------------------


def log_a_later_run(uri: str) -> None:
    """A run after the concurrent starts works (in this process: one interpreter start less)."""
    experiment_id = connect(OmegaConf.create({"tracking_uri": uri, "experiment_name": "imdb"}))
    with mlflow.start_run(experiment_id=experiment_id):
        mlflow.log_metric("val_acc", 0.75)


def run_together(uri: str, home: Path, n: int = 3) -> list[tuple[int, str, str]]:
    processes = [start_connect(uri, home) for _ in range(n)]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=90)
        results.append((process.returncode, out, err))
    return results


@pytest.mark.slow  # three store-creating processes at once: ~15 s each
def test_three_processes_on_a_fresh_sqlite_store_all_succeed(tmp_path):
    database = tmp_path / "mlruns" / "mlflow.db"
    uri = f"sqlite:///{database}"
    results = run_together(uri, tmp_path)
    assert [code for code, _, _ in results] == [0, 0, 0], [err[-2000:] for _, _, err in results]
    assert len({out.strip().splitlines()[-1] for _, out, _ in results}) == 1, "one experiment, created once"
    assert not [t for t in sqlite_tables(database) if t.startswith("_alembic_tmp")]
    assert not list(database.parent.glob(".*.creating*")), "no half-made store left"
    log_a_later_run(uri)
    assert len(mlflow.search_runs(experiment_names=["imdb"])) == 4


@pytest.mark.slow  # three store-creating processes at once: ~15 s each
def test_three_processes_on_a_fresh_postgres_database_all_succeed(postgres_url, tmp_path):
    results = run_together(postgres_url, tmp_path)
    assert [code for code, _, _ in results] == [0, 0, 0], [err[-2000:] for _, _, err in results]
    assert len({out.strip().splitlines()[-1] for _, out, _ in results}) == 1
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url)
    with engine.connect() as connection:
        leftovers = connection.execute(
            sqlalchemy.text("SELECT table_name FROM information_schema.tables WHERE table_name LIKE '_alembic_tmp%'")
        ).all()
        n_runs = connection.execute(sqlalchemy.text("SELECT count(*) FROM runs")).scalar_one()
    engine.dispose()
    assert leftovers == [] and n_runs == 3
    log_a_later_run(postgres_url)


@pytest.mark.slow  # three store-creating processes at once: ~15 s each
def test_three_processes_on_a_fresh_tracking_server_share_one_experiment(mlflow_server, tmp_path):
    results = run_together(mlflow_server, tmp_path)
    assert [code for code, _, _ in results] == [0, 0, 0], [err[-2000:] for _, _, err in results]
    assert len({out.strip().splitlines()[-1] for _, out, _ in results}) == 1


# --- a store that cannot be written ---------------------------------------------------------


def _limit_file_size(limit: int):
    def apply() -> None:
        # Writes past `limit` bytes fail with EFBIG instead of killing the process (SIGXFSZ),
        # as writes to a full disk fail with ENOSPC.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.slow  # a real CLI run against a broken store: ~12 s
def test_full_disk_stops_in_one_line_and_leaves_no_broken_store(tmp_path):
    database = tmp_path / "mlruns" / "mlflow.db"
    code, _, err = connect_once(f"sqlite:///{database}", tmp_path, preexec=_limit_file_size(200_000))
    # SQLite reports EFBIG as a "disk I/O error", not as a full disk; the tmpfs test sees ENOSPC.
    assert_one_line_error(code, err, str(database), "the disk refused a write")
    assert not database.exists(), "a store that could not be created completely is not there at all"
    assert not list(database.parent.glob(".*.creating*"))
    code, _, err = connect_once(f"sqlite:///{database}", tmp_path)  # space again: it just works
    assert code == 0, err[-2000:]


@pytest.fixture()
def small_tmpfs(tmp_path):
    """A 256 KiB file system (a real full disk), mounted when this process may mount."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); the RLIMIT_FSIZE test covers it")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


@pytest.mark.slow  # a real CLI run against a broken store: ~12 s
def test_full_file_system_stops_in_one_line_and_recovers_once_space_is_freed(small_tmpfs, tmp_path):
    database = small_tmpfs / "mlruns" / "mlflow.db"
    code, _, err = connect_once(f"sqlite:///{database}", tmp_path)
    assert_one_line_error(code, err, str(database), "the disk is full")
    assert not database.exists()
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_tmpfs)], check=True)
    code, _, err = connect_once(f"sqlite:///{database}", tmp_path)
    assert code == 0, err[-2000:]


def _without_permission_override() -> None:
    """In a child of root: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the capability
    bounding set, so the program it runs obeys file permissions like any user (root ignores
    them, and CI runs as root; another user could not run the Python under /root)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for capability in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.slow  # a real CLI run against a broken store: ~12 s
def test_read_only_folder_stops_in_one_line(tmp_path):
    store = tmp_path / "mlruns"
    code, _, err = connect_once(f"sqlite:///{store / 'mlflow.db'}", tmp_path)  # made while writable
    assert code == 0, err[-2000:]
    for path in store.iterdir():
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    store.chmod(0o555)
    try:
        preexec = _without_permission_override if os.geteuid() == 0 else None
        code, _, err = connect_once(f"sqlite:///{store / 'mlflow.db'}", tmp_path, preexec=preexec)
    except subprocess.SubprocessError as error:  # prctl refused: no CAP_SETPCAP in this container
        pytest.skip(f"root here cannot give up CAP_DAC_OVERRIDE, so permissions cannot apply ({error})")
    finally:
        store.chmod(0o755)
    assert_one_line_error(code, err, str(store / "mlflow.db"), "not writable")


def test_corrupt_database_stops_in_one_line(tmp_path):
    database = tmp_path / "mlruns" / "mlflow.db"
    database.parent.mkdir()
    database.write_bytes(os.urandom(64 * 1024))
    code, _, err = connect_once(f"sqlite:///{database}", tmp_path)
    assert_one_line_error(code, err, str(database), "the database file is corrupt")


@pytest.mark.slow  # a store server that is absent or refuses: the client's retries in a subprocess, ~5 s
def test_unreachable_tracking_server_stops_in_one_line_without_the_password(tmp_path):
    uri = f"http://someone:hunter2secret@127.0.0.1:{free_loopback_port()}"
    code, _, err = connect_once(uri, tmp_path)
    assert_one_line_error(code, err, "the server is unreachable", "someone:***@127.0.0.1")
    assert "hunter2secret" not in err


@pytest.mark.slow  # a store server that is absent or refuses: the client's retries in a subprocess, ~5 s
def test_unreachable_postgres_stops_in_one_line_without_the_password(tmp_path):
    pytest.importorskip("psycopg")
    uri = f"postgresql+psycopg://someone:hunter2secret@127.0.0.1:{free_loopback_port()}/mlflow"
    code, _, err = connect_once(uri, tmp_path)
    assert_one_line_error(code, err, "the server is unreachable", "someone:***@127.0.0.1")
    assert "hunter2secret" not in err


@pytest.mark.slow  # a store server that is absent or refuses: the client's retries in a subprocess, ~5 s
def test_wrong_postgres_password_says_so_without_the_password(postgres_url, tmp_path):
    wrong = postgres_url.replace("@127.0.0.1", "x@127.0.0.1")  # the password with a character more
    code, _, err = connect_once(wrong, tmp_path)
    assert_one_line_error(code, err, "the server refused the credentials", "seqsweep:***@127.0.0.1")
    password = postgres_url.split(":")[2].split("@")[0]
    assert password not in err


@pytest.mark.parametrize("outage_s", [2, 10, 60, 300])
def test_mlflow_retries_wait_for_a_restarting_server_at_most_the_outage_limit(outage_s):
    retries, factor = retry_schedule(outage_s)
    pauses = sum(factor * 2 ** (n - 1) for n in range(2, retries + 1))  # urllib3: 0, 2f, 4f, ...
    assert outage_s / 2 <= pauses <= outage_s and 1 <= retries <= 10


def test_an_outage_limit_of_0_gives_up_at_once():
    assert retry_schedule(0) == (0, 0)
