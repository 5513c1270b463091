"""Shared fixtures: the mini IMDB archive, a private data cache, and a runner for the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
MINI_ARCHIVE = Path(os.environ.get("SEQSWEEP_TEST_ARCHIVE", ROOT.parent / "shared" / "data" / "aclImdb_mini.tar.gz"))


@pytest.fixture(scope="session")
def mini_archive() -> Path:
    if not MINI_ARCHIVE.exists():
        pytest.fail(f"mini archive not found at {MINI_ARCHIVE}; set SEQSWEEP_TEST_ARCHIVE")
    return MINI_ARCHIVE.resolve()


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data cache for the whole session, so the mini archive is tokenized once."""
    return tmp_path_factory.mktemp("data-cache")


@pytest.fixture()
def run_cli(tmp_path: Path, cache_dir: Path, mini_archive: Path):
    """Run `python -m src.train ARGS data.source=MINI` in a fresh folder with its own ./mlruns store."""

    def run(
        *args: str, check: bool = True, extra_env: dict[str, str] | None = None, source: Path | None = mini_archive
    ) -> subprocess.CompletedProcess:
        env = {**os.environ, "SEQSWEEP_CACHE_DIR": str(cache_dir), **(extra_env or {})}
        env.pop("MLFLOW_TRACKING_URI", None)
        command = [sys.executable, "-m", "src.train", *args, *([f"data.source={source}"] if source else [])]
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        if check and done.returncode != 0:
            pytest.fail(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
        return done

    return run


@pytest.fixture()
def store_runs(tmp_path: Path):
    """Read every run of an experiment from the SQLite store the CLI wrote in tmp_path."""

    def read(experiment: str = "imdb") -> pd.DataFrame:
        mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
        return mlflow.search_runs(experiment_names=[experiment])

    return read
