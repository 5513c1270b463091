"""benchmarks/search_efficiency.py --smoke: every kind of method runs end to end on the mini archive
and the results hold one row per method with a refit test accuracy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
# One of ours with and one without per-trial test evaluation, and both peers; the other three
# of ours differ only in the sampler and pruner settings of the same generated preset.
METHODS = ["ours_tpe_hyperband", "ours_tpe_median_test", "ours_tpe_fidelity", "plain_optuna", "keras_tuner"]


@pytest.mark.slow
def test_smoke_benchmark_writes_one_result_per_method(tmp_path: Path, mini_archive: Path, cache_dir: Path) -> None:
    env = {**os.environ, "SEQSWEEP_TEST_ARCHIVE": str(mini_archive), "SEQSWEEP_CACHE_DIR": str(cache_dir)}
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "search_efficiency.py"),
        "--smoke",
        "--methods",
        ",".join(METHODS),
        "--out",
        str(tmp_path),
    ]
    done = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    runs = pd.read_csv(tmp_path / "runs.csv")
    assert list(runs["method"]) == METHODS
    assert (runs["trials"] >= 1).all() and (runs["epochs_trained"] >= 1).all()
    assert runs["best_val_acc"].between(0, 1).all()
    assert runs["refit_test_acc"].between(0, 1).all()
    assert (runs["overhead_s_per_trial"] > 0).all()
    # Each chosen configuration is a point of the space: the refit trains exactly it.
    for params in runs["best_params"]:
        assert set(json.loads(params)) == {"model", "model.units", "model.dropout", "optimizer.learning_rate", "optimizer"}

    # Time to plain Optuna's median best, paired by seed, for every other method.
    paired = pd.read_csv(tmp_path / "paired.csv")
    assert set(paired["method"]) == set(METHODS) - {"plain_optuna"} and (paired["ratio_geomean"] > 0).all()
    fidelity = (tmp_path / "sweeps" / "ours_tpe_fidelity-seed1" / "stdout.txt").read_text()
    assert "levels of data.n_train: 25, 75, 100 (one job each)" in fidelity

    trials = pd.read_csv(tmp_path / "trials.csv")
    assert set(trials["method"]) == set(METHODS)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary["method"]) == METHODS
    assert (tmp_path / "best_val_acc_vs_time.png").stat().st_size > 10_000
    # Our sweeps keep their stores; without per-trial evaluation no trial has test metrics.
    import mlflow

    for method, has_test in [("ours_tpe_hyperband", False), ("ours_tpe_median_test", True)]:
        mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'sweeps' / f'{method}-seed1' / 'mlruns' / 'mlflow.db'}")
        runs = mlflow.search_runs(search_all_experiments=True)
        finished = runs[runs["tags.mlflow.parentRunId"].notna() & (runs["status"] == "FINISHED")]
        assert len(finished) >= 1
        assert ("metrics.test_acc" in finished and finished["metrics.test_acc"].notna().all()) == has_test
