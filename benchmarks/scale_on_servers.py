"""benchmarks/scale_sim.py against a throw-away PostgreSQL (the study) and `mlflow server` (the
runs, itself on PostgreSQL), both on loopback and started and stopped by the tests' own fixtures
(tests/fixtures/postgres.py, tests/fixtures/mlflow_server.py). The arguments for scale_sim.py
come in SCALE_ARGS; its table is printed (run with -s) and kept under benchmarks/results/:

    SCALE_ARGS="--sweeper random --trials 10000 --slots 64 --window 1000" \\
        python -m pytest -p tests.conftest -s benchmarks/scale_on_servers.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_scale_on_postgres_and_mlflow_server(postgres_server, postgres_url, mlflow_server) -> None:
    study_url = postgres_server.create_database("scale_study")
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "scale_sim.py"),
        "--study-url",
        study_url,
        "--tracking-uri",
        mlflow_server,
    ]
    done = subprocess.run([*command, *os.environ["SCALE_ARGS"].split()], cwd=ROOT, check=False)
    assert done.returncode == 0
