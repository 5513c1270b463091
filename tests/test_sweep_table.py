"""The table a sweep prints when it ends: swept settings first, in the sweep's order, then results."""

from __future__ import annotations

import mlflow
import pytest

from src.tracking.summary import sweep_table


@pytest.fixture()
def sweep(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    experiment = client.create_experiment("table", artifact_location=(tmp_path / "artifacts").as_uri())
    parent = client.create_run(experiment, tags={"sweep": "true", "sweep_varying": "optimizer, model"}).info.run_id
    trials = [
        ("gru", "adam", "0.0008179499475211679", "FINISHED", None),
        (
            "lstm",
            "rmsprop",
            "0.001",
            "FAILED",
            "\x1b[31mValueError: loss became nan at epoch 1. The trial stopped.\x1b[0m\nTraceback ...",
        ),
    ]
    for model, optimizer, rate, status, error in trials:
        tags = {
            "mlflow.parentRunId": parent,
            "hydra_overrides": f"model={model} optimizer={optimizer} +optimizer.learning_rate={rate} trainer.epochs=1",
        }
        if error:
            tags["error"] = error
        run = client.create_run(experiment, tags=tags).info.run_id
        params = {"model.name": model, "optimizer._target_": optimizer, "optimizer.learning_rate": rate, "trainer.epochs": "1"}
        for key, value in params.items():
            client.log_param(run, key, value)
        for key, value in {"test_acc": 0.71234, "val_acc": 0.7, "ms_per_step": 2293.0}.items():
            client.log_metric(run, key, value)
        client.set_terminated(run, status)
    return parent


def test_the_swept_settings_lead_in_the_sweeps_order_with_group_choices_then_results(sweep):
    table = sweep_table(sweep)
    # optimizer.learning_rate and model.name differ only because the group choices do: not repeated.
    assert list(table.columns) == ["optimizer", "model", "status", "test_acc", "val_acc", "ms_per_step*", "error"]
    assert table["optimizer"].tolist() == ["adam", "rmsprop"] and table["model"].tolist() == ["gru", "lstm"]
    assert table["test_acc"].tolist() == [0.71234, 0.71234]


def test_a_failure_is_one_short_line_and_a_one_epoch_speed_is_marked(sweep):
    table = sweep_table(sweep)
    assert table["error"].tolist()[1] == "ValueError: loss became nan at epoch 1."
    assert "ms_per_step" not in table and table["ms_per_step*"].tolist() == [2293.0, 2293.0]
    assert table.attrs["note"].startswith("* with 1 epoch, ms_per_step includes building the graph")
