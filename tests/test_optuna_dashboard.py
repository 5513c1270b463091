"""optuna-dashboard reads an Optuna study file whose objectives were named with `study.set_metric_names`.

The study is made here with plain Optuna, as the sweeper stores it (SQLite, two named
objectives); `optuna-dashboard` is started on 127.0.0.1 as the README shows, read through
its JSON API, and opened in headless Chromium. The screenshot is kept at
$SEQSWEEP_TEST_ARTIFACTS/optuna_dashboard.png (default: a folder of pytest's temporary directory).
"""

from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from pathlib import Path

import optuna
import pytest

OBJECTIVES = ["test_acc", "fit_seconds"]


def make_study(path: Path) -> optuna.Study:
    study = optuna.create_study(
        study_name="imdb_optuna",
        storage=f"sqlite:///{path}",
        directions=["maximize", "minimize"],
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study.set_metric_names(OBJECTIVES)

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        units = trial.suggest_int("model.units", 4, 64, log=True)
        rate = trial.suggest_float("optimizer.learning_rate", 1e-4, 1e-1, log=True)
        # Any two conflicting objectives will do: the test is about how the dashboard shows them.
        return 1 - 1 / (units * rate * 100 + 2), units / 10

    study.optimize(objective, n_trials=6)
    return study


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture()
def dashboard_command() -> list[str]:
    command = shutil.which("optuna-dashboard", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.skip("optuna-dashboard not installed (pip install -e '.[dev]')")
    return [command]


# set_metric_names is marked experimental in Optuna 5; it is the API optuna-dashboard reads.
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.slow  # a dashboard server and a browser: ~11 s
def test_dashboard_shows_the_named_objectives(dashboard_command, loopback_server, browser, artifacts, tmp_path):
    database = tmp_path / "optuna.db"
    study = make_study(database)
    assert study.metric_names == OBJECTIVES
    url = loopback_server(
        [*dashboard_command, f"sqlite:///{database}", "--host", "127.0.0.1", "--port", "{port}"], "/api/meta"
    )

    (summary,) = get_json(f"{url}/api/studies")["study_summaries"]
    assert summary["study_name"] == "imdb_optuna"
    detail = get_json(f"{url}/api/studies/{summary['study_id']}")
    assert detail["objective_names"] == OBJECTIVES
    assert len(detail["trials"]) == 6 and len(detail["best_trials"]) >= 1
    assert {p["name"] for p in detail["trials"][0]["params"]} == {"model.units", "optimizer.learning_rate"}

    screenshot = artifacts / "optuna_dashboard.png"
    page = browser(f"{url}/dashboard/studies/{summary['study_id']}", screenshot)
    print(f"\noptuna-dashboard screenshot: {screenshot}")
    for name in OBJECTIVES:
        assert name in page, f"objective {name} not on the study page"
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 30_000
