"""The MLflow UI shows a sweep: a real multirun, `mlflow server` on 127.0.0.1, headless Chromium.

Needs the `chromium` binary (Debian: `apt-get install -y chromium`); without it the test
skips, and `.ci/run`, which installs it, fails on any skipped test.
The screenshot is kept at $SEQSWEEP_TEST_ARTIFACTS/mlflow_ui_runs.png (default
tests/artifacts/, git-ignored).
"""

from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("SEQSWEEP_TEST_ARTIFACTS", ROOT / "tests" / "artifacts"))
TINY = ["trainer.epochs=1", "model.units=4", "model.embedding_dim=8", "data.num_words=500", "data.maxlen=20"]
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def mlflow_server(tmp_path):
    """Starts `mlflow server` on 127.0.0.1 for a store and returns its URL; stops it after the test."""
    started: list[subprocess.Popen] = []

    def start(database: Path) -> str:
        port = free_port()
        log_path = tmp_path / "mlflow-server.log"
        with log_path.open("w") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{database}",
                 "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        started.append(server)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while not _healthy(url):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not come up on {url}:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        return url

    yield start
    for server in started:
        os.killpg(server.pid, signal.SIGTERM)  # the server and its uvicorn worker
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def render(chromium: str, url: str, profile: Path, screenshot: Path | None = None) -> str:
    """The page's text after its JavaScript ran (the UI is a single-page app), optionally with a screenshot."""
    profile.mkdir(parents=True, exist_ok=True)
    shot = [f"--screenshot={screenshot}", "--window-size=1600,1000"] if screenshot else []
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=20000", *shot, "--dump-dom", url],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    without_code = re.sub(r"<(script|style)\b.*?</\1>", " ", done.stdout, flags=re.DOTALL)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", without_code)))


@pytest.mark.slow
def test_mlflow_ui_shows_the_sweep_and_its_runs(chromium, run_cli, store_runs, mlflow_server, tmp_path):
    run_cli("-m", "model=gru", "data.n_train=40", "trainer.seed=1,2", *TINY)
    runs = store_runs()
    parent = runs[runs["tags.mlflow.parentRunId"].isna()].iloc[0]
    children = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"]]
    assert len(children) == 2
    experiment_id = parent["experiment_id"]
    server = mlflow_server(tmp_path / "mlruns" / "mlflow.db")

    # The experiment's runs page as a user first sees it: the sweep is one row, trials folded under it.
    page = render(chromium, f"{server}/#/experiments/{experiment_id}/runs", tmp_path / "profile-1")
    assert "imdb" in page and "Training runs" in page
    assert parent["tags.mlflow.runName"] in page
    assert "3 matching runs" in page

    # The same page grouped by the trials' sweep_id tag, as the UI's "Group by" menu does; saved
    # as a shared view (an experiment tag the UI reads for ?viewStateShareKey=) so that a
    # command-line browser can open it: every trial is then a visible row.
    mlflow.MlflowClient().set_experiment_tag(
        experiment_id, "mlflow.sharedViewState.by-sweep", json.dumps({"groupBy": "tag.average.sweep_id"}))
    screenshot = ARTIFACTS / "mlflow_ui_runs.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.unlink(missing_ok=True)
    page = render(chromium, f"{server}/#/experiments/{experiment_id}/runs?viewStateShareKey=by-sweep", tmp_path / "profile-2", screenshot)
    print(f"\nMLflow UI screenshot: {screenshot}")
    assert "Group by: sweep_id" in page, "the shared view was not applied"
    assert f"Group: {parent['run_id']}" in page
    for name in children["tags.mlflow.runName"]:
        assert name in page, f"trial run '{name}' not on the page"
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 50_000
