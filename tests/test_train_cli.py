"""The real entry point, `python -m src.train`, run as users run it, read back through MLflow."""

from __future__ import annotations

import re

import mlflow
import pytest

TINY = ["trainer.epochs=2", "model.units=4", "model.embedding_dim=8", "data.num_words=500", "data.maxlen=20"]


def test_single_run_records_everything(run_cli, store_runs, tmp_path):
    done = run_cli("model=gru", "data.n_train=60", *TINY)
    assert "[trial]" in done.stdout and "test_acc=" in done.stdout
    tensorflow_chatter = re.findall(r"^(?:[IWEF]\d{4} .*|.*absl::InitializeLog.*)$", done.stderr, flags=re.MULTILINE)
    assert not tensorflow_chatter, "TensorFlow's C++ start-up lines are silenced"

    runs = store_runs()
    assert len(runs) == 1
    run = runs.iloc[0]
    assert run["status"] == "FINISHED"
    assert "tags.mlflow.parentRunId" not in runs.columns or runs["tags.mlflow.parentRunId"].isna().all()
    assert run["params.model.units"] == "4" and run["params.data.n_train"] == "60"
    assert run["params.optimizer._target_"] == "keras.optimizers.Adam"
    assert run["params.trainer.batch_size"] == "32"
    for metric in (
        "test_acc",
        "test_loss",
        "n_params",
        "data_seconds",
        "fit_seconds",
        "ms_per_step",
        "eval_seconds",
        "inference_ms_per_sample",
    ):
        assert run[f"metrics.{metric}"] >= 0, metric
    assert run["metrics.n_test"] == 500, "test metrics come from the whole test split"
    assert run["tags.model"] == "gru" and run["tags.tensorflow_version"]

    client = mlflow.MlflowClient()
    val_acc = client.get_metric_history(run["run_id"], "val_acc")
    assert [m.step for m in val_acc] == [1, 2]
    assert len(client.get_metric_history(run["run_id"], "epoch_seconds")) == 2
    artifacts = {a.path for a in client.list_artifacts(run["run_id"])}
    assert {"config.yaml", "history.csv", "model_summary.txt"} <= artifacts


@pytest.mark.slow
def test_multirun_nests_trials_under_one_parent(run_cli, store_runs, tmp_path):
    done = run_cli("-m", "model=simplernn,lstm", "data.n_train=40", *TINY)
    assert "[1/2]" in done.stdout and "[2/2]" in done.stdout, "one end line per trial"
    assert "[trial]" not in done.stdout and "starts:" not in done.stdout, "one trial at a time: no other line per trial"
    assert "test_acc" in done.stdout.split("[2/2]")[-1], "the multirun ends with a comparison table"

    runs = store_runs()
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    parents = runs[runs["tags.mlflow.parentRunId"].isna()]
    assert len(parents) == 1 and len(children) == 2
    assert set(children["tags.mlflow.parentRunId"]) == {parents.iloc[0]["run_id"]}
    assert set(runs["status"]) == {"FINISHED"}
    assert sorted(children["params.model.name"]) == ["lstm", "simplernn"]
    assert sorted(children["tags.sweep_trial"]) == ["0", "1"]
    assert set(children["tags.sweep_id"]) == {parents.iloc[0]["run_id"]}
    for run_id in children["run_id"]:
        assert len(mlflow.MlflowClient().get_metric_history(run_id, "val_acc")) == 2
    # Hydra's default job logging left an empty train.log in every trial's folder.
    assert list(tmp_path.glob("multirun/**/*.log")) == []


@pytest.mark.slow
def test_failing_single_run_exits_non_zero_and_is_recorded_failed(run_cli, store_runs):
    # A learning rate this large makes the loss NaN in the first epoch.
    done = run_cli(
        "data=binary_addition",
        "data.n_train=200",
        "data.n_test=50",
        "model.activation=relu",
        "optimizer=sgd",
        "optimizer.learning_rate=1e12",
        "trainer.epochs=2",
        check=False,
        source=None,
    )
    assert done.returncode != 0
    run = store_runs("binary_addition").iloc[0]
    assert run["status"] == "FAILED"
    assert "loss became nan at epoch 1" in run["tags.error"]


@pytest.mark.slow
def test_early_stopping_ends_a_trial_that_stops_improving(run_cli, store_runs):
    # With a learning rate far below float32 resolution the weights never change, so
    # val_loss cannot improve after the first epoch and patience=1 stops at epoch 2.
    run_cli(
        "data.n_train=40",
        *TINY[1:],
        "trainer.epochs=6",
        "optimizer.learning_rate=1e-12",
        "trainer.early_stopping.enabled=true",
        "trainer.early_stopping.patience=1",
    )
    run = store_runs().iloc[0]
    assert run["status"] == "FINISHED"
    assert run["metrics.epochs_run"] == 2
    assert len(mlflow.MlflowClient().get_metric_history(run["run_id"], "val_loss")) == 2


def test_a_dry_run_lists_the_checked_points_and_trains_nothing(run_cli, tmp_path):
    done = run_cli("-m", "model=simplernn,gru", "data.n_train=100,200", "hydra.sweeper.dry_run=true")
    lines = [line for line in done.stdout.splitlines() if line.startswith("[sweep]")]
    assert lines[0] == "[sweep] dry run: grid of 4 trial(s) varying model, data.n_train"
    assert lines[1:5] == [
        "[sweep]   #0 model=simplernn data.n_train=100",
        "[sweep]   #1 model=simplernn data.n_train=200",
        "[sweep]   #2 model=gru data.n_train=100",
        "[sweep]   #3 model=gru data.n_train=200",
    ]
    assert lines[-1].startswith("[sweep] dry run: every point was checked; nothing was trained")
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "multirun").exists()
    # Without -m: the one point, checked.
    single = run_cli("model=gru", "data.n_train=100", "hydra.sweeper.dry_run=true")
    assert re.search(r"^\[run\] dry run: model=gru data\.n_train=100 .*nothing was trained", single.stdout, re.M)
    assert not (tmp_path / "mlruns").exists()


def test_cfg_with_multirun_is_one_line(run_cli):
    done = run_cli("-m", "--cfg", "job", "model=lstm,gru", check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: --cfg with -m is not allowed: --cfg prints one run's config (drop -m and give one value per key); "
        "to list a sweep's points, use -m ... hydra.sweeper.dry_run=true"
    ]
