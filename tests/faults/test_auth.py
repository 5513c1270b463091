"""A sweep against `mlflow server --app-name basic-auth` (MLflow's login app).

The credentials come from MLflow's own variables (MLFLOW_TRACKING_USERNAME/PASSWORD), as
docs/faults.md tells users; the trials run in Ray workers, which must reach the server with them
too; and the password is written nowhere: not in the output, the sweep's folders, the runs'
params, tags and artifacts, nor Ray's session files. A wrong password is refused in one line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from tests.fixtures.tiny_trial import TINY_TRIAL

pytestmark = [pytest.mark.slow, pytest.mark.starts_ray]

GRID = ["-m", "model=simplernn,gru", *TINY_TRIAL, "trainer.epochs=1"]


@pytest.fixture()
def ray_temp_dir() -> Iterator[Path]:
    """Ray's session files (logs, the job's runtime env) in a folder of their own, to be searched;
    short, as Ray's socket paths must be."""
    folder = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def sweep(tmp_path: Path, server, password: str, mini_archive: Path, cache_dir: Path, ray_dir: Path):
    env = {
        **os.environ,
        "SEQSWEEP_CACHE_DIR": str(cache_dir),
        "MLFLOW_TRACKING_USERNAME": server.username,
        "MLFLOW_TRACKING_PASSWORD": password,
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [
        sys.executable,
        "-m",
        "src.train",
        *GRID,
        f"data.source={mini_archive}",
        f"tracking.tracking_uri={server.url}",
        "hydra/launcher=ray",
        "+hydra.launcher.init_kwargs.num_cpus=2",
        f"+hydra.launcher.init_kwargs._temp_dir={ray_dir}",
    ]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


def files_holding(text: str, *folders: Path) -> list[Path]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                try:
                    if text.encode() in path.read_bytes():
                        found.append(path)
                except OSError:  # a socket or a file gone meanwhile
                    pass
    return found


def test_a_ray_sweep_against_a_login_protected_server_works_and_writes_the_password_nowhere(
    tmp_path, mlflow_auth_server, mini_archive, cache_dir, ray_temp_dir, monkeypatch
):
    server = mlflow_auth_server
    done = sweep(tmp_path, server, server.password, mini_archive, cache_dir, ray_temp_dir)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", server.username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", server.password)
    mlflow.set_tracking_uri(server.url)
    runs = mlflow.search_runs(search_all_experiments=True)
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert sorted(children["status"]) == ["FINISHED", "FINISHED"]  # both trials, from Ray workers
    assert children["tags.worker_pid"].notna().all()

    assert server.password not in done.stdout + done.stderr
    for column in runs.columns:
        assert not runs[column].astype(str).str.contains(server.password, regex=False).any(), column
    # The sweep's folders, the runs' artifacts (config files) and the server's stores, and
    # Ray's session: logs, the pickled job, the runtime env.
    assert files_holding(server.password, tmp_path, ray_temp_dir) == []


def test_a_wrong_password_is_refused_in_one_line_before_any_trial(
    tmp_path, mlflow_auth_server, mini_archive, cache_dir, ray_temp_dir
):
    wrong = "not-" + mlflow_auth_server.password
    done = sweep(tmp_path, mlflow_auth_server, wrong, mini_archive, cache_dir, ray_temp_dir)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: cannot use the store {mlflow_auth_server.url}"), done.stderr
    assert "Traceback" not in done.stderr
    assert wrong not in done.stdout + done.stderr
    assert "[1/2]" not in done.stdout  # no trial ran
