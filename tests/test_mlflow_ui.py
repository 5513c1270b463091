"""The MLflow UI shows a sweep: a real multirun, `mlflow server` on 127.0.0.1, headless Chromium.

Needs the `chromium` binary (Debian: `apt-get install -y chromium`); without it the test
skips, and `.ci/run`, which installs it, fails on any skipped test.
The screenshot is kept at $SEQSWEEP_TEST_ARTIFACTS/mlflow_ui_runs.png (default: a folder of
pytest's temporary directory).
"""

from __future__ import annotations

import json
import sys

import mlflow
import pytest

TINY = ["trainer.epochs=1", "model.units=4", "model.embedding_dim=8", "data.num_words=500", "data.maxlen=20"]


def start_mlflow_server(loopback_server, database) -> str:
    return loopback_server(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{database}",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--workers",
            "1",
        ],
        "/health",
    )


@pytest.mark.slow
def test_mlflow_ui_shows_the_sweep_and_its_runs(browser, artifacts, loopback_server, run_cli, store_runs, tmp_path):
    run_cli("-m", "model=gru", "data.n_train=40", "trainer.seed=1,2", *TINY)
    runs = store_runs()
    parent = runs[runs["tags.mlflow.parentRunId"].isna()].iloc[0]
    children = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"]]
    assert len(children) == 2
    experiment_id = parent["experiment_id"]
    server = start_mlflow_server(loopback_server, tmp_path / "mlruns" / "mlflow.db")

    # The experiment's runs page as a user first sees it: the sweep is one row, trials folded under it.
    page = browser(f"{server}/#/experiments/{experiment_id}/runs")
    assert "imdb" in page and "Training runs" in page
    assert parent["tags.mlflow.runName"] in page
    assert "3 matching runs" in page

    # The parent run's page: the settings every trial shares as params, the sweep's summary metrics.
    parent_shot = artifacts / "mlflow_ui_parent.png"
    page = browser(f"{server}/#/experiments/{experiment_id}/runs/{parent['run_id']}", parent_shot)
    for shown in ("trials_finished", "wall_seconds", "model.units", "data.n_train"):
        assert shown in page, f"{shown} not on the parent run's page"
    assert parent_shot.read_bytes().startswith(b"\x89PNG")

    # The same page grouped by the trials' sweep_name tag, as the UI's "Group by" menu does; saved
    # as a shared view (an experiment tag the UI reads for ?viewStateShareKey=) so that a
    # command-line browser can open it: every trial is then a visible row.
    mlflow.MlflowClient().set_experiment_tag(
        experiment_id, "mlflow.sharedViewState.by-sweep", json.dumps({"groupBy": "tag.average.sweep_name"})
    )
    screenshot = artifacts / "mlflow_ui_runs.png"
    page = browser(f"{server}/#/experiments/{experiment_id}/runs?viewStateShareKey=by-sweep", screenshot)
    print(f"\nMLflow UI screenshot: {screenshot}")
    assert "Group by: sweep_name" in page, "the shared view was not applied"
    assert f"Group: {parent['tags.mlflow.runName']}" in page  # a readable name, not an id
    for name in children["tags.mlflow.runName"]:
        assert name in page, f"trial run '{name}' not on the page"
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 50_000
