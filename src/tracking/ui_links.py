"""Links into MLflow's UI: the compare view of a sweep's trials (settings and metrics side by side,
parallel coordinates). MLflow's client builds no UI URLs, so the route is written here: the UI's
`#/compare-runs?runs=[...]&experiments=[...]` (MLflow 3)."""

from __future__ import annotations

import json
import urllib.parse

DEFAULT_UI_URL = "http://127.0.0.1:5000"
# The compare view draws every run it is given; past this it is slow to read and the link long.
MAX_COMPARED_RUNS = 100


def ui_base(ui_url: str | None, tracking_uri: str) -> str:
    """The UI's address: `ui_url` when set, the tracking server when the store is one, else the default."""
    if ui_url:
        return ui_url.rstrip("/")
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri.rstrip("/")
    return DEFAULT_UI_URL


def compare_url(base: str, experiment_id: str, run_ids: list[str]) -> str:
    """The compare view of `run_ids` (the first MAX_COMPARED_RUNS) in experiment `experiment_id`."""
    runs = urllib.parse.quote(json.dumps(run_ids[:MAX_COMPARED_RUNS], separators=(",", ":")))
    experiments = urllib.parse.quote(json.dumps([experiment_id], separators=(",", ":")))
    return f"{base}/#/compare-runs?runs={runs}&experiments={experiments}"
