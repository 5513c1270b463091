"""`python -m src.export` on a real learning-curve sweep: trials.csv, pivot.csv, summary.csv, plots."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from src.export import main as export_main
from src.reporting import plots

TINY = ["trainer.epochs=2", "model.units=4", "model.embedding_dim=8", "data.num_words=500", "data.maxlen=20"]
# The learning-curve preset with two models and two sizes; its own 3 seeds stay.
SWEEP = ["+sweeps=learning_curve", "model=gru,simplernn", "data.n_train=20,60", *TINY]
T_975_2_DOF = 4.302652729911275  # Student t quantile for a 95% interval from 3 values
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, cache_dir, mini_archive):
    """One real 12-trial multirun shared by the tests of this module (read-only for them)."""
    folder = tmp_path_factory.mktemp("learning-curve")
    env = {**os.environ, "SEQSWEEP_CACHE_DIR": str(cache_dir)}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = run(["-m", "src.train", *SWEEP, f"data.source={mini_archive}"], folder, env)
    if done.returncode != 0:
        pytest.fail(f"sweep failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return folder, env, done.stdout


@pytest.fixture(scope="module")
def report(sweep) -> Path:
    """The export as users run it (a subprocess in the sweep's folder), done once for the module."""
    folder, env, _ = sweep
    done = run(["-m", "src.export", "--out", "report", "--pivot", "rows=model", "cols=data.n_train", "value=test_acc"], folder, env)
    if done.returncode != 0:
        pytest.fail(f"export failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return folder / "report"


@pytest.fixture()
def export(sweep, monkeypatch, capsys):
    """`python -m src.export ARGS` in-process (its `main`), for the cases that need no fresh interpreter."""

    def call(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd or sweep[0])
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        status = export_main(list(args))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return call


def read_store(folder: Path) -> pd.DataFrame:
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}")
    return mlflow.search_runs(experiment_names=["imdb"])


def test_trials_csv_is_one_tidy_row_per_trial(sweep, report):
    trials = pd.read_csv(report / "trials.csv")
    runs = read_store(sweep[0])
    children = runs[runs["tags.mlflow.parentRunId"].notna()]

    assert len(trials) == 12 == len(children)
    assert set(trials["run_id"]) == set(children["run_id"])
    for column in ("run_id", "status", "start_time", "wall_seconds", "model", "error", "pruned_at_epoch",
                   "params.data.n_train", "params.trainer.seed", "params.model.units", "params.optimizer._target_",
                   "metrics.test_acc", "metrics.n_params", "metrics.fit_seconds", "metrics.ms_per_step",
                   "metrics.data_seconds", "metrics.eval_seconds", "tags.hydra_overrides"):
        assert column in trials.columns, column
    assert set(trials["status"]) == {"FINISHED"} and trials["error"].isna().all()
    assert trials.groupby(["model", "params.data.n_train"])["params.trainer.seed"].apply(lambda s: sorted(s) == [1, 2, 3]).all()
    assert pd.api.types.is_integer_dtype(trials["params.data.n_train"]), "numeric params are numbers"
    assert trials["metrics.test_acc"].between(0, 1).all() and (trials["metrics.n_test"] == 500).all()
    assert trials["tags.sweep_job_num"].tolist() == list(range(12)), "rows in launch order"


def test_pivot_takes_short_names_and_averages_each_cell(sweep, report, export):
    table = pd.read_csv(report / "pivot.csv", index_col="model")
    trials = pd.read_csv(report / "trials.csv")
    assert table.shape == (2, 2)
    assert list(table.index) == ["gru", "simplernn"] and list(table.columns) == ["20", "60"]
    expected = trials.groupby(["model", "params.data.n_train"])["metrics.test_acc"].mean()
    for (model, n_train), mean in expected.items():
        assert table.loc[model, str(n_train)] == pytest.approx(mean)

    status, _, err = export("--out", "pivot2", "--pivot", "rows=params.data.n_train", "cols=trainer.seed", "value=metrics.test_acc", "agg=max")
    assert status == 0, err
    table = pd.read_csv(sweep[0] / "pivot2" / "pivot.csv", index_col=0)
    assert table.shape == (2, 3)
    assert table.loc[60, "2"] == pytest.approx(
        trials.query("`params.data.n_train` == 60 and `params.trainer.seed` == 2")["metrics.test_acc"].max())


def test_summary_groups_seeds_with_a_t_interval(report):
    summary = pd.read_csv(report / "summary.csv")
    trials = pd.read_csv(report / "trials.csv")
    acc = summary[summary["metric"] == "test_acc"]
    assert len(acc) == 4, "one group per model x n_train; the seed is not a group key"
    assert "params.trainer.seed" not in summary.columns
    assert (acc["count"] == 3).all() and (acc["seeds"] == "1 2 3").all()
    for _, group in acc.iterrows():
        values = trials[(trials["model"] == group["model"]) & (trials["params.data.n_train"] == group["params.data.n_train"])]["metrics.test_acc"]
        half = T_975_2_DOF * values.std(ddof=1) / math.sqrt(3)
        assert group["mean"] == pytest.approx(values.mean())
        assert group["ci95_half_width"] == pytest.approx(half) and math.isfinite(half) and half > 0
        assert group["ci95_low"] == pytest.approx(values.mean() - half)
        assert group["ci95_high"] == pytest.approx(values.mean() + half)
    assert {"fit_seconds", "ms_per_step", "n_params"} <= set(summary["metric"])


def test_plots_are_written_and_logged_on_the_parent_run(sweep, report):
    folder, _, sweep_output = sweep
    names = {"learning_curve.png", "accuracy_vs_time.png", "val_acc_per_epoch.png"}
    for name in names:
        content = (report / name).read_bytes()
        assert content.startswith(PNG_SIGNATURE) and len(content) > 20_000, name

    runs = read_store(folder)
    parent = runs[runs["tags.mlflow.parentRunId"].isna()].iloc[0]
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(parent["run_id"], "plots")}
    assert artifacts == {f"plots/{name}" for name in names}
    assert "plots_error" not in parent.index or pd.isna(parent["tags.plots_error"])
    assert "[sweep] plots on the parent run: plots/learning_curve.png" in sweep_output


def test_learning_curve_draws_a_band_per_model_on_a_log_axis(report):
    summary = pd.read_csv(report / "summary.csv")
    trials = pd.read_csv(report / "trials.csv")
    axes = plots.learning_curve(summary, trials).axes[0]
    bands = [c for c in axes.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2, "one shaded 95% band per model"
    assert axes.get_xscale() == "log" and axes.get_title() and "test accuracy" in axes.get_ylabel()
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    assert "gru 95% CI" in legend and "simplernn (mean of 3 seeds)" in legend


def test_unknown_names_and_missing_sweeps_fail_with_what_exists(sweep, export, tmp_path):
    status, _, err = export("--out", "x", "--experiment", "nope")
    assert status == 2 and "no experiment named 'nope'" in err and "imdb" in err

    status, _, err = export("--out", "bad", "--pivot", "rows=modle", "cols=data.n_train", "value=test_acc")
    assert status == 2 and "unknown column 'modle'" in err
    assert "data.n_train" in err and "test_acc" in err
    assert not (sweep[0] / "bad").exists(), "nothing is written when the pivot cannot be made"

    status, _, err = export("--out", "x", "--sweep", "0" * 32)
    assert status == 2 and "no run with id" in err

    # A sweep whose parent run exists but no trial ever started.
    uri = f"sqlite:///{tmp_path / 'empty.db'}"
    mlflow.set_tracking_uri(uri)
    parent = mlflow.MlflowClient().create_run(mlflow.create_experiment("imdb"), tags={"sweep": "true"})
    status, _, err = export("--out", "x", cwd=tmp_path, env={"MLFLOW_TRACKING_URI": uri})
    assert status == 2 and f"sweep {parent.info.run_id} has no trial runs" in err

    status, _, err = export("--out", "x", cwd=tmp_path)
    assert status == 2 and "no MLflow store at" in err
