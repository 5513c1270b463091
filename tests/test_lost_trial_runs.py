"""What the sweep's tracker does to a lost trial's MLflow run: the run ends as the study records the trial."""

from __future__ import annotations

import mlflow
import pytest

from hydra_plugins.seqsweep_plugins import JobContext
from src.sweep_tracker import MlflowSweepTracker


@pytest.fixture()
def tracker(tmp_path) -> MlflowSweepTracker:
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    experiment = client.create_experiment("lost", artifact_location=(tmp_path / "artifacts").as_uri())
    tracker = MlflowSweepTracker()
    tracker.client = client
    tracker.parent_run_id = client.create_run(experiment, tags={"sweep": "true"}).info.run_id
    return tracker


def _trial_run(tracker: MlflowSweepTracker, number: int, status: str | None) -> str:
    parent = tracker.client.get_run(tracker.parent_run_id)
    tags = {"mlflow.parentRunId": tracker.parent_run_id, "sweep_trial": str(number)}
    run = tracker.client.create_run(parent.info.experiment_id, tags=tags).info.run_id
    if status is not None:
        tracker.client.set_terminated(run, status)
    return run


@pytest.mark.parametrize("ended", [None, "FINISHED", "KILLED", "FAILED"])
def test_a_lost_trial_run_ends_failed_whatever_its_worker_closed_it_as(tracker: MlflowSweepTracker, ended) -> None:
    # The worker died after its trial closed the run (FINISHED, or KILLED by the pruner) but
    # before the result reached the sweeper: the study reruns the trial, so this run did not count.
    run = _trial_run(tracker, 3, ended)
    other = _trial_run(tracker, 4, "FINISHED")
    tracker.on_trial_lost(JobContext(number=3, overrides=[], varying=[]), "worker died", interrupted=False)
    closed = tracker.client.get_run(run)
    assert closed.info.status == "FAILED"
    # A run its trial closed FAILED keeps the trial's own error.
    assert closed.data.tags.get("error") == (None if ended == "FAILED" else "worker died")
    assert closed.data.tags.get("ended_before_lost") == (ended if ended in ("FINISHED", "KILLED") else None)
    assert tracker.client.get_run(other).info.status == "FINISHED"


def test_a_trial_stopped_by_the_sweeps_signal_keeps_a_run_it_finished(tracker: MlflowSweepTracker) -> None:
    finished, failed, running = (_trial_run(tracker, n, s) for n, s in ((1, "FINISHED"), (2, "FAILED"), (3, None)))
    for number in (1, 2, 3):
        tracker.on_trial_lost(JobContext(number=number, overrides=[], varying=[]), "interrupted", interrupted=True)
    assert tracker.client.get_run(finished).info.status == "FINISHED"
    assert tracker.client.get_run(failed).info.status == "KILLED"
    assert tracker.client.get_run(running).info.status == "KILLED"
