"""`python -m src.export`: trials.csv, summary.csv, pivot.csv and the plots.

The fast tests read a sweep logged straight into a real MLflow store (known values, so the
rounding, missing values, intervals and colours can be checked exactly); the slow ones
export a real learning-curve multirun, as users run it.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.colors
import mlflow
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from scipy import stats

from src.export import main as export_main
from src.reporting import plots
from src.reporting.report import load_sweep

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SECRET_URI = "postgresql://sweeper:hunter2@db.example/optuna"
# (model, n_train) -> the test accuracies of its seeds; float32 values, as Keras logs them.
ACCURACIES = {
    ("gru", 20): [0.61, 0.64, 0.58],
    ("gru", 60): [0.97, 0.99, 0.999],  # near 1: the t interval would pass 1
    ("lstm", 20): [0.55, 0.6, 0.52],
    ("lstm", 60): [0.78],  # a group of one
}


def _log_sweep(
    uri: str,
    experiment: str = "imdb",
    metric: str | None = None,
    accuracies: dict | None = None,
    run_name: str = "sweep",
    extra_params: dict | None = None,
) -> str:
    """A finished sweep with one child run per (model, n_train, seed), and a val_<metric> history."""
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient()
    existing = client.get_experiment_by_name(experiment)
    experiment_id = existing.experiment_id if existing else client.create_experiment(experiment)
    parent = client.create_run(experiment_id, tags={"sweep": "true"}, run_name=run_name)
    name = metric or "acc"
    job = 0
    for (model, n_train), values in (accuracies or ACCURACIES).items():
        for seed, value in enumerate(values, start=1):
            run = client.create_run(
                experiment_id,
                start_time=1_700_000_000_000 + 10_000 * job,
                tags={"mlflow.parentRunId": parent.info.run_id, "sweep_trial": str(job), "model": model},
            )
            run_id = run.info.run_id
            params = {
                "model.name": model,
                "data.n_train": n_train,
                "trainer.seed": seed,
                "data.n_test": "null",
                "model.recurrent_activation": "null",
                "tracking.tracking_uri": SECRET_URI,
                **(extra_params or {}),
            }
            if metric is not None:
                params["data.primary_metric"] = metric
            for key, param in params.items():
                client.log_param(run_id, key, param)
            final = {
                f"test_{name}": value,
                f"val_{name}": value - 0.01,
                "n_test": 500,
                "n_train": n_train * 0.8,
                "n_val": n_train * 0.2,
                "fit_seconds": 1.234567 + job,
                "ms_per_step": 12.3456,
                "n_params": 1234,
                "epochs_run": 2,
                "test_loss": 0.123456789,
            }
            for key, number in final.items():
                client.log_metric(run_id, key, float(np.float32(number)))
            for epoch in (1, 2):
                client.log_metric(run_id, f"val_{name}", float(np.float32(value - 0.05 / epoch)), step=epoch)
            client.set_terminated(run_id, "FINISHED", end_time=1_700_000_000_000 + 10_000 * job + 4_321)
            job += 1
    client.set_terminated(parent.info.run_id, "FINISHED")
    return parent.info.run_id


@pytest.fixture(scope="module")
def logged(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("logged-sweep")
    uri = f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}"
    (folder / "mlruns").mkdir()
    _log_sweep(uri)
    return folder, uri


@pytest.fixture()
def export(monkeypatch, capsys):
    """`python -m src.export ARGS` in-process (its `main`) in `cwd` against the store `uri`."""

    def call(*args: str, cwd: Path, uri: str | None = None) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        if uri is None:
            monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        else:
            monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        try:
            status = export_main(list(args))
        except SystemExit as stop:  # a user error: one line, exit code 2
            status = stop.code
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return call


@pytest.fixture(scope="module")
def logged_report(logged) -> Path:
    folder, uri = logged
    out = folder / "report"
    # In-process (`src.export`'s main), as the `export` fixture calls it: a subprocess would spend
    # ~5 s importing what this one already has; the sweep tests below run the real command.
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        assert export_main(["--out", str(out)]) == 0
    return out


def test_numbers_are_rounded_to_what_they_mean_and_missing_is_empty(logged_report):
    text = (logged_report / "trials.csv").read_text()
    assert "0.7799999" not in text and "null" not in text
    trials = pd.read_csv(logged_report / "trials.csv")
    lstm_60 = trials[(trials["model"] == "lstm") & (trials["data.n_train"] == 60)].iloc[0]
    assert lstm_60["test_acc"] == 0.78
    assert trials["fit_seconds"].tolist() == [round(1.234567 + job, 2) for job in range(len(trials))]
    assert (trials["ms_per_step"] == 12.35).all() and (trials["test_loss"] == 0.1235).all()
    assert (trials["wall_seconds"] == 4.32).all()
    assert pd.api.types.is_integer_dtype(trials["n_params"])
    assert trials["model.recurrent_activation"].isna().all(), "a None param is an empty cell"
    assert (trials["data.n_test"] == 500).all(), "n_test=null means the whole test split, logged as a metric"


def test_summary_is_one_row_per_group_with_its_count_and_bounded_intervals(logged_report):
    summary = pd.read_csv(logged_report / "summary.csv")
    assert list(summary.columns[:4]) == ["model", "data.n_train", "count", "seeds"]
    assert len(summary) == 4 and summary["count"].tolist() == [3, 3, 3, 1]
    rows = summary.set_index(["model", "data.n_train"])
    for (model, n_train), values in ACCURACIES.items():
        row = rows.loc[(model, n_train)]
        assert row["test_acc_mean"] == round(float(np.mean(np.float32(values))), 4)
        if len(values) == 1:
            assert row[["test_acc_std", "test_acc_ci95_low", "test_acc_ci95_high"]].isna().all(), "no interval from one trial"
            continue
        half = stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / math.sqrt(len(values))
        assert row["test_acc_ci95_low"] == pytest.approx(max(np.mean(values) - half, 0), abs=1e-4)
        assert row["test_acc_ci95_high"] == pytest.approx(min(np.mean(values) + half, 1), abs=1e-4)
    near_one = ACCURACIES[("gru", 60)]
    unclipped = np.mean(near_one) + stats.t.ppf(0.975, 2) * np.std(near_one, ddof=1) / math.sqrt(3)
    assert unclipped > 1 and rows.loc[("gru", 60), "test_acc_ci95_high"] == 1.0
    assert {"val_acc_mean", "fit_seconds_mean", "n_params_mean"} <= set(summary.columns)
    assert "ci95_low" not in summary.columns and "metric" not in summary.columns


def test_the_export_writes_report_html_beside_the_csvs(logged, export, tmp_path):
    _, uri = logged
    status, out, err = export("--out", "results", cwd=tmp_path, uri=uri)
    assert status == 0, err
    assert "wrote results/report.html" in out.splitlines()
    text = (tmp_path / "results" / "report.html").read_text()
    assert text.startswith("<!DOCTYPE html>") and "hunter2" not in text
    # lstm at 60 reviews has one seed: the result table says why it has no interval.
    assert "A combination with one completed trial has no interval" in text


def test_no_password_leaves_in_a_file(logged_report):
    for path in [*logged_report.glob("*.csv"), logged_report / "report.html"]:
        assert "hunter2" not in path.read_text(), path.name
    assert "sweeper:***@db.example" in (logged_report / "trials.csv").read_text()


def test_every_model_keeps_its_colour_across_figures_and_legends_are_unique(logged, logged_report):
    folder, uri = logged
    mlflow.set_tracking_uri(uri)
    from src.reporting.report import load_sweep
    from src.reporting.runs import latest_sweep

    report = load_sweep(latest_sweep())
    figures = [
        plots.learning_curve(report.summary, report.trials),
        plots.metric_vs_time(report.trials),
        plots.validation_curves(report.trials, report.val_history),
    ]
    for figure in figures:
        legends = [legend for legend in [*figure.legends, *(ax.get_legend() for ax in figure.axes)] if legend]
        labels = [text.get_text() for legend in legends for text in legend.get_texts()]
        assert len(labels) == len(set(labels)), labels
        for ax in figure.axes:
            for line in ax.get_lines():
                if line.get_label().startswith("gru"):
                    assert matplotlib.colors.same_color(line.get_color(), plots.model_colour("gru"))
    assert plots.model_colour("gru") != plots.model_colour("lstm")
    for name in ("learning_curve.png", "accuracy_vs_time.png", "val_acc_per_epoch.png"):
        assert (logged_report / name).read_bytes().startswith(PNG_SIGNATURE), name


def test_validation_curves_have_a_panel_per_training_size(logged):
    _, uri = logged
    mlflow.set_tracking_uri(uri)
    from src.reporting.report import load_sweep
    from src.reporting.runs import latest_sweep

    report = load_sweep(latest_sweep())
    figure = plots.validation_curves(report.trials, report.val_history)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["data.n_train=20 (6 trials)", "data.n_train=60 (4 trials)"]
    assert [len(ax.get_lines()) for ax in visible] == [6, 4]


def test_the_sweeps_own_metric_names_columns_and_plots(tmp_path, export):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent_run_id = _log_sweep(uri, experiment="binary_addition", metric="mse")
    status, out, err = export("--out", "report", cwd=tmp_path, uri=uri)
    assert status == 0, err
    summary = pd.read_csv(tmp_path / "report" / "summary.csv")
    assert "test_mse_mean" in summary.columns and "test_acc_mean" not in summary.columns
    assert {p.name for p in (tmp_path / "report").glob("*.png")} == {
        "learning_curve.png",
        "mse_vs_time.png",
        "val_mse_per_epoch.png",
    }
    mlflow.set_tracking_uri(uri)
    swept = load_sweep(parent_run_id)
    figure = plots.learning_curve(swept.summary, swept.trials, "mse")
    assert "mean squared error" in figure.axes[0].get_ylabel()


def test_bad_arguments_are_one_line_errors(logged, export, tmp_path):
    folder, uri = logged
    (tmp_path / "taken.csv").write_text("x")
    status, _, err = export("--out", "taken.csv", cwd=tmp_path, uri=uri)
    assert status == 2 and err.count("\n") == 1 and "--out=taken.csv is not allowed" in err
    status, _, err = export("--out", "x", "--sweep", "", cwd=tmp_path, uri=uri)
    assert status == 2 and err.count("\n") == 1 and "--sweep='' is not allowed" in err

    status, _, err = export("--out", "x", "--experiment", "nope", cwd=folder, uri=uri)
    assert status == 2 and "no experiment named 'nope'" in err and "imdb" in err
    status, _, err = export(
        "--out", "bad", "--pivot", "rows=modle", "cols=data.n_train", "value=test_acc", cwd=tmp_path, uri=uri
    )
    assert status == 2 and "unknown column 'modle'" in err and "data.n_train" in err and "test_acc" in err
    assert not (tmp_path / "bad").exists(), "nothing is written when the pivot cannot be made"
    status, _, err = export("--out", "x", "--sweep", "0" * 32, cwd=tmp_path, uri=uri)
    assert status == 2 and "no run with id" in err

    # A sweep whose parent run exists but no trial ever started.
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    mlflow.set_tracking_uri(empty)
    parent = mlflow.MlflowClient().create_run(mlflow.create_experiment("imdb"), tags={"sweep": "true"})
    status, _, err = export("--out", "x", cwd=tmp_path, uri=empty)
    assert status == 2 and f"sweep {parent.info.run_id} has no trial runs" in err
    (tmp_path / "elsewhere").mkdir()
    status, _, err = export("--out", "x", cwd=tmp_path / "elsewhere")
    assert status == 2 and "no MLflow store at" in err


# The real thing: a 12-trial learning-curve multirun, exported as users do.
TINY = ["trainer.epochs=2", "model.units=4", "model.embedding_dim=8", "data.num_words=500", "data.maxlen=20"]
SWEEP = ["+sweeps=learning_curve", "model=gru,simplernn", "data.n_train=20,60", *TINY]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, cache_dir, mini_archive):
    folder = tmp_path_factory.mktemp("learning-curve")
    env = {**os.environ, "SEQSWEEP_CACHE_DIR": str(cache_dir)}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-m", "src.train", *SWEEP, f"data.source={mini_archive}"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"sweep failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return folder, env, done.stdout


@pytest.fixture(scope="module")
def report(sweep) -> Path:
    folder, env, _ = sweep
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "src.export",
            "--out",
            "report",
            "--pivot",
            "rows=model",
            "cols=data.n_train",
            "value=test_acc",
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"export failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return folder / "report"


def read_store(folder: Path) -> pd.DataFrame:
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}")
    return mlflow.search_runs(experiment_names=["imdb"])


@pytest.mark.slow
def test_a_real_sweep_exports_one_tidy_row_per_trial(sweep, report):
    trials = pd.read_csv(report / "trials.csv")
    runs = read_store(sweep[0])
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert len(trials) == 12 == len(children)
    assert set(trials["run_id"]) == set(children["run_id"])
    for column in (
        "run_id",
        "status",
        "start_time",
        "wall_seconds",
        "model",
        "error",
        "pruned_at_epoch",
        "data.n_train",
        "trainer.seed",
        "model.units",
        "optimizer._target_",
        "test_acc",
        "n_params",
        "fit_seconds",
        "ms_per_step",
        "data_seconds",
        "eval_seconds",
        "hydra_overrides",
    ):
        assert column in trials.columns, column
    assert set(trials["status"]) == {"FINISHED"} and trials["error"].isna().all()
    assert trials.groupby(["model", "data.n_train"])["trainer.seed"].apply(lambda s: sorted(s) == [1, 2, 3]).all()
    assert pd.api.types.is_integer_dtype(trials["data.n_train"]), "numeric params are numbers"
    assert trials["test_acc"].between(0, 1).all() and (trials["n_test"] == 500).all()
    assert (trials["test_acc"] == trials["test_acc"].round(4)).all()
    assert trials["sweep_trial"].tolist() == list(range(12)), "rows in launch order"

    table = pd.read_csv(report / "pivot.csv", index_col="model")
    assert list(table.index) == ["gru", "simplernn"] and list(table.columns) == ["data.n_train=20", "data.n_train=60"]
    expected = trials.groupby(["model", "data.n_train"])["test_acc"].mean()
    for (model, n_train), mean in expected.items():
        assert table.loc[model, f"data.n_train={n_train}"] == pytest.approx(mean)

    summary = pd.read_csv(report / "summary.csv")
    assert len(summary) == 4 and (summary["count"] == 3).all() and (summary["seeds"] == "1 2 3").all()
    assert (summary["test_acc_ci95_low"] >= 0).all() and (summary["test_acc_ci95_high"] <= 1).all()


@pytest.mark.slow
def test_a_real_sweep_logs_its_plots_on_the_parent_run(sweep, report):
    folder, _, sweep_output = sweep
    names = {"learning_curve.png", "accuracy_vs_time.png", "val_acc_per_epoch.png"}
    for name in names:
        content = (report / name).read_bytes()
        assert content.startswith(PNG_SIGNATURE) and len(content) > 20_000, name
    runs = read_store(folder)
    parent = runs[runs["tags.mlflow.parentRunId"].isna()].iloc[0]
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(parent["run_id"], "plots")}
    assert artifacts == {f"plots/{name}" for name in [*names, "report.html"]}
    assert "plots_error" not in parent.index or pd.isna(parent["tags.plots_error"])
    swept = load_sweep(parent["run_id"])
    axes = plots.learning_curve(swept.summary, swept.trials).axes[0]
    assert len([c for c in axes.collections if isinstance(c, PolyCollection)]) == 2, "one shaded band per model"
    assert axes.get_xscale() == "log" and "test accuracy" in axes.get_ylabel()
    # The sweep's answer on the parent's overview page, and the printed link to MLflow's compare view.
    assert parent["tags.mlflow.note.content"].startswith("**Result of this sweep** (12 trials)")
    assert "| model | data.n_train | n | test_acc mean [95% interval] | val_acc mean |" in parent["tags.mlflow.note.content"]
    assert parent["tags.compare_url"].startswith("http://127.0.0.1:5000/#/compare-runs?runs=")
    assert f"[sweep] compare all 12 trials in MLflow's UI: {parent['tags.compare_url']}" in sweep_output


@pytest.mark.slow
def test_a_real_sweeps_report_opens_in_chromium_without_a_console_message(sweep, report, page_console):
    """The acceptance check of report.html: a 3-seed sweep on the (CI: real mini) archive."""
    lines, dom = page_console(report / "report.html")
    assert lines == [], lines
    assert dom.count('class="plotly-graph-div js-plotly-plot"') == 5, "plotly drew every figure"
    for section in ("results", "comparisons", "learning-curves", "importance", "parallel", "epochs", "pareto", "trials"):
        assert f'<section id="{section}">' in dom, section
    # Two sizes: each line's power law is drawn and flagged, not trusted.
    assert dom.count("<td>poor fit: 2 training-set sizes") == 2
    runs = read_store(sweep[0])
    parent = runs[runs["tags.mlflow.parentRunId"].isna()].iloc[0]
    logged = mlflow.artifacts.download_artifacts(run_id=parent["run_id"], artifact_path="plots/report.html")
    assert "Sweep report: test_acc" in Path(logged).read_text()


def test_one_epoch_curves_are_drawn_as_points():
    trials = pd.DataFrame(
        {
            "run_id": ["a", "b"],
            "model": ["lstm", "gru"],
            "status": ["FINISHED", "FINISHED"],
            "pruned_at_epoch": [float("nan")] * 2,
            plots.N_TRAIN: [100, 100],
        }
    )
    histories = pd.DataFrame({"run_id": ["a", "b"], "step": [1, 1], "val_acc": [0.6, 0.7]})
    figure = plots.validation_curves(trials, histories)
    (ax,) = [ax for ax in figure.axes if ax.get_visible()]
    assert [line.get_marker() for line in ax.get_lines()] == ["o", "o"]
    assert sorted(y for line in ax.get_lines() for y in line.get_ydata()) == [0.6, 0.7]


def test_the_export_compares_values_paired_by_seed(logged_report):
    compare = pd.read_csv(logged_report / "compare.csv")
    assert list(compare.columns[:3]) == ["setting", "a", "b"] and "beyond_seed_noise" in compare.columns
    by_row = {(row.setting, row.a, row.b, row.n) for row in compare.itertuples()}
    # lstm at 60 reviews has one seed: its comparisons have n=1 and no interval.
    assert by_row == {
        ("model", "gru", "lstm", 3),
        ("model", "gru", "lstm", 1),
        ("data.n_train", "20", "60", 3),
        ("data.n_train", "20", "60", 1),
    }
    assert compare.loc[compare["n"] == 1, "ci_low"].isna().all()
    assert (compare.loc[compare["n"] == 3, "level"] == 1 - 0.05 / 2).all()


# Sweep B: sweep A again with a little seed noise, and one combination (gru at 20 reviews) better by 0.1.
NOISE = [0.002, -0.001, -0.001]
CHANGED = {
    (model, n_train): [value + NOISE[i] + (0.1 if (model, n_train) == ("gru", 20) else 0.0) for i, value in enumerate(values)]
    for (model, n_train), values in ACCURACIES.items()
}


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> tuple[Path, str]:
    """One store with four sweeps: before, after (one combination changed), other sizes, other validation."""
    folder = tmp_path_factory.mktemp("compared")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    _log_sweep(uri, run_name="before")
    _log_sweep(uri, run_name="after", accuracies=CHANGED)
    _log_sweep(uri, run_name="other sizes", accuracies={("gru", 100): [0.7, 0.71], ("lstm", 100): [0.6, 0.61]})
    _log_sweep(uri, run_name="other validation", extra_params={"trainer.validation_split": 0.1})
    return folder, uri


def test_compare_flags_exactly_the_changed_combination(compared, tmp_path, export):
    _, uri = compared
    status, out, err = export("--compare", "before", "after", "--out", "cmp", cwd=tmp_path, uri=uri)
    assert status == 0, err
    table = pd.read_csv(tmp_path / "cmp" / "compare_sweeps.csv")
    assert len(table) == 4 and list(table.columns[:2]) == ["model", "data.n_train"]
    flagged = {(row.model, row._2) for row in table.itertuples() if row.beyond_seed_noise}
    assert flagged == {("gru", 20)}
    gru_20 = table[(table["model"] == "gru") & (table["data.n_train"] == 20)].iloc[0]
    assert gru_20["test"] == "paired" and gru_20["n_paired"] == 3 and gru_20["level"] == 1 - 0.05 / 3
    # As the trials table holds them: logged as float32, accuracies kept to 4 decimals.
    b = np.round(np.float32(CHANGED[("gru", 20)]).astype(float), 4)
    a = np.round(np.float32(ACCURACIES[("gru", 20)]).astype(float), 4)
    direct = stats.ttest_rel(b, a).confidence_interval(1 - 0.05 / 3)
    assert (gru_20["ci_low"], gru_20["ci_high"]) == (pytest.approx(direct.low), pytest.approx(direct.high))
    assert table.loc[(table["model"] == "lstm") & (table["data.n_train"] == 60), "test"].isna().all(), "one seed: no test"
    assert "1 of 4 combination(s) differ beyond seed noise" in out


def test_compare_refuses_what_cannot_be_compared_in_one_line(compared, tmp_path, export):
    _, uri = compared
    for names, message in [
        (("before", "nope"), "no sweep named or with id 'nope'"),
        (("before", "other sizes"), "sweeps before and other sizes have no combination of model, data.n_train in common"),
        (
            ("before", "other validation"),
            "sweeps before and other validation were validated differently: trainer.validation_split",
        ),
    ]:
        status, _, err = export("--compare", *names, cwd=tmp_path, uri=uri)
        assert status == 2 and err.count("\n") == 1 and message in err, err


def test_the_parent_description_is_the_result_table_with_intervals_and_n(logged):
    from src.reporting.overview import result_markdown

    folder, uri = logged
    mlflow.set_tracking_uri(uri)
    parent = mlflow.search_runs(experiment_names=["imdb"], filter_string="tags.sweep = 'true'")["run_id"].iloc[0]
    lines = result_markdown(load_sweep(parent)).splitlines()
    assert lines[2] == "| model | data.n_train | n | test_acc mean [95% interval] | val_acc mean |"
    values = np.float32(ACCURACIES[("gru", 20)]).astype(float)
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / math.sqrt(3)
    mean = round(values.mean(), 4)
    gru_20 = next(line for line in lines if line.startswith("| gru | 20 |"))
    assert gru_20.startswith(f"| gru | 20 | 3 | {mean:.4f} [{values.mean() - half:#.4g}, {values.mean() + half:#.4g}]")
    assert next(line for line in lines if line.startswith("| lstm | 60 |")).startswith("| lstm | 60 | 1 | 0.7800 |")
    assert any("one completed trial has no interval" in line for line in lines)
    # This constructed sweep split each trial's own subset: n_val 4 to 12, no fingerprint.
    assert "measured on different validation sets (4 to 12 examples)" in lines[-3], lines[-3]
