"""Bad values stop the command in seconds, with one line naming the key, and leave no MLflow run."""

from __future__ import annotations

import time

import pytest

BAD_VALUES = [
    (["model=lstm", "model.units=-3"], "model.units=-3"),
    (["model.embedding_dim=0"], "model.embedding_dim=0"),
    (["trainer.epochs=0"], "trainer.epochs=0"),
    (["trainer.batch_size=-1"], "trainer.batch_size=-1"),
    (["data.maxlen=0"], "data.maxlen=0"),
    (["data.num_words=0"], "data.num_words=0"),
    (["model.dropout=1.0"], "model.dropout=1.0"),
    (["model.recurrent_dropout=-0.1"], "model.recurrent_dropout=-0.1"),
    (["model.activation=tanhh"], "model.activation=tanhh"),
    (["model=gru", "model.recurrent_activation=nope"], "model.recurrent_activation=nope"),
    (["optimizer.learning_rate=0"], "optimizer.learning_rate=0"),
    (["optimizer=sgd", "optimizer.learning_rate=-0.1"], "optimizer.learning_rate=-0.1"),
    (["data.n_train=600"], "data.n_train=600"),
    (["data.n_train=3"], "data.n_train=3"),
    (["data.truncating=middle"], "data.truncating=middle"),
    (["trainer.early_stopping.enabled=true", "trainer.early_stopping.monitor=val_accuracy"],
     "trainer.early_stopping.monitor=val_accuracy"),
    (["trainer.early_stopping.enabled=true", "trainer.early_stopping.patience=-1"],
     "trainer.early_stopping.patience=-1"),
]


@pytest.mark.parametrize(("overrides", "named"), BAD_VALUES, ids=[b[1] for b in BAD_VALUES])
def test_bad_value_is_refused_in_one_line(run_cli, tmp_path, overrides, named):
    start = time.perf_counter()
    done = run_cli(*overrides, check=False)
    assert time.perf_counter() - start < 15
    assert done.returncode == 2
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and named in error_lines[0], done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "mlruns").exists(), "no MLflow run for a refused config"


def test_model_that_cannot_take_the_data_says_why(run_cli, tmp_path):
    done = run_cli("data=binary_addition", "model=dense_bow", check=False, source=None)
    assert done.returncode == 2
    assert "model=dense_bow" in done.stderr and "token_ids" in done.stderr and "features" in done.stderr


def test_unknown_optimizer_lists_the_choices(run_cli, tmp_path):
    done = run_cli("optimizer=adamw_typo", check=False)
    assert done.returncode != 0
    assert "optimizer" in done.stderr and "adam" in done.stderr and "sgd" in done.stderr
    assert not (tmp_path / "mlruns").exists()


def test_one_bad_grid_point_stops_the_sweep_before_training(run_cli, tmp_path):
    done = run_cli("-m", "model=simplernn,lstm", "model.units=4,-3", "trainer.epochs=1", check=False)
    assert done.returncode == 2
    assert "model.units=-3" in done.stderr
    assert "[trial]" not in done.stdout, "no trial may start"
    assert not (tmp_path / "mlruns").exists(), "no parent or child run for a refused sweep"
