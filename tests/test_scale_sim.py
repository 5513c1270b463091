"""benchmarks/scale_sim.py runs the real sweepers with instant trials and reports their cost per trial."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_scale_simulation_runs_every_trial_and_writes_its_cost_per_window(tmp_path: Path) -> None:
    sweeper = "random"  # the Optuna path: study, budget lock, ask and tell (a grid has fewer parts)
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scale_sim.py"), "--sweeper", sweeper]
        + ["--trials", "12", "--slots", "4", "--window", "4", "--results", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"{sweeper}-12x4-sqlite: 12 trials" in done.stdout
    with (tmp_path / f"{sweeper}-12x4-sqlite.csv").open() as table:
        rows = list(csv.DictReader(table))
    assert [int(row["trials_so_far"]) for row in rows] == [4, 8, 12]
    assert all(float(row["ms_per_trial"]) > 0 and float(row["compose_ms"]) > 0 for row in rows)
