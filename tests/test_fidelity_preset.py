"""The `imdb_fidelity` preset end to end on the mini archive: training-set size as the search's
fidelity, in this process and on Ray with two trials in flight (the ladder itself is tested with
a small app in hydra_plugins/seqsweep_plugins/tests/test_fidelity.py)."""

from __future__ import annotations

import re
import subprocess
import sys

import mlflow
import pytest

LEVELS = [50, 100, 200, 400]
MINI = [
    "+sweeps=imdb_fidelity",
    "trainer.validation_size=100",
    "hydra.sweeper.fidelity.min=50",
    "hydra.sweeper.fidelity.max=400",
    "hydra.sweeper.fidelity.reduction_factor=2",
    "hydra.sweeper.n_trials=6",
    # small and quick: the ladder, not the accuracy, is under test
    "trainer.epochs=1",
    "model.embedding_dim=8",
    "data.num_words=500",
    "data.maxlen=20",
]


def _check_ladder(done: subprocess.CompletedProcess, runs) -> None:
    out = done.stdout
    assert "levels of data.n_train: 50, 100, 200, 400 (one job each)" in out
    assert "stopped at level 50 by SuccessiveHalvingPruner" in out  # some trials stop low
    assert re.search(r"^\[6/6\] .* level \d+ val_acc=", out, flags=re.MULTILINE)
    assert "refit_best: done" in out
    levels = runs[runs["tags.fidelity_level"].notna()]
    by_trial = levels.groupby("tags.optuna_trial")["tags.fidelity_level"].apply(lambda s: sorted(map(int, s)))
    assert len(by_trial) == 6 and all(sizes == LEVELS[: len(sizes)] for sizes in by_trial)
    assert set(levels["params.data.n_train"].astype(int)) <= set(LEVELS)
    top = levels[levels["tags.fidelity_level"] == "400"]
    assert len(top) >= 1  # the best reached the top level
    history = mlflow.MlflowClient().get_metric_history(top["run_id"].iloc[0], "val_acc_by_level")
    assert [m.step for m in history] == LEVELS
    number = top["tags.optuna_trial"].iloc[0]
    climbed = levels[levels["tags.optuna_trial"] == number]
    per_level = climbed.set_index(climbed["tags.fidelity_level"].astype(int))
    assert [m.value for m in history] == pytest.approx([per_level.loc[level, "metrics.val_acc"] for level in LEVELS])
    refit = runs[runs["tags.refit"] == "true"]
    assert len(refit) == 1 and refit["params.data.n_train"].iloc[0] == "400" and refit["metrics.test_acc"].notna().all()


@pytest.mark.slow
def test_the_preset_climbs_prunes_and_refits_in_process_with_levels_in_mlflow_and_the_report(run_cli, store_runs, tmp_path):
    done = run_cli("-m", *MINI)
    runs = store_runs()
    _check_ladder(done, runs)
    exported = subprocess.run(
        [sys.executable, "-m", "src.export", "--out", str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True
    )
    assert exported.returncode == 0, exported.stderr
    header = (tmp_path / "out" / "trials.csv").read_text().splitlines()[0].split(",")
    assert "fidelity_level" in header
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Levels of the search" in page and "of each configuration at each level it reached" in page


@pytest.mark.slow
@pytest.mark.starts_ray
def test_the_preset_runs_on_ray_with_two_trials_in_flight(run_cli, store_runs):
    done = run_cli("-m", *MINI, "hydra/launcher=ray", "hydra.sweeper.n_jobs=2", "+hydra.launcher.init_kwargs.num_cpus=2")
    _check_ladder(done, store_runs())
    assert "trial #1 starts at level 50" in done.stdout


@pytest.mark.slow
def test_a_top_level_larger_than_the_data_is_refused_before_any_trial(run_cli, tmp_path):
    done = run_cli("-m", *MINI, "hydra.sweeper.fidelity.max=450", check=False)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: data.n_train=450 is not allowed: between 2 and 400"), last
    assert not (tmp_path / "mlruns" / "mlflow.db").exists()
