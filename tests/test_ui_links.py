"""The compare link a sweep prints: MLflow 3's compare-runs route, on the UI the store implies."""

from __future__ import annotations

import json
import urllib.parse

from src.tracking.ui_links import MAX_COMPARED_RUNS, compare_url, ui_base


def test_the_link_lists_the_runs_and_the_experiment_of_the_compare_view():
    url = compare_url("http://127.0.0.1:5000", "7", ["a" * 32, "b" * 32])
    base, _, query = url.partition("/#/compare-runs?")
    fields = dict(part.split("=", 1) for part in query.split("&"))
    assert base == "http://127.0.0.1:5000"
    assert json.loads(urllib.parse.unquote(fields["runs"])) == ["a" * 32, "b" * 32]
    assert json.loads(urllib.parse.unquote(fields["experiments"])) == ["7"]


def test_at_most_the_first_hundred_runs_are_linked():
    ids = [f"{n:032d}" for n in range(150)]
    runs = json.loads(urllib.parse.unquote(compare_url("http://h", "1", ids).split("runs=")[1].split("&")[0]))
    assert runs == ids[:MAX_COMPARED_RUNS]


def test_the_ui_is_the_setting_else_the_tracking_server_else_the_local_default():
    assert ui_base("https://mlflow.example/", "sqlite:///mlruns/mlflow.db") == "https://mlflow.example"
    assert ui_base(None, "http://10.0.0.5:5000/") == "http://10.0.0.5:5000"
    assert ui_base(None, "sqlite:///mlruns/mlflow.db") == "http://127.0.0.1:5000"
