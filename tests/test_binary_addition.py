"""The binary-addition task: data layout, per-step models, exact-match metric, divergence."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from src.data.binary_addition import addition_examples, load_binary_addition
from src.data.task import TaskData
from src.data.validation_set import ValidationMode, ValidationPlan


def test_examples_are_bits_of_the_operands_and_their_sum():
    x, y = addition_examples(50, 8, np.random.default_rng(0))
    assert x.shape == (50, 8, 2) and y.shape == (50, 8, 1)
    weights = 2 ** np.arange(8)  # least significant bit first
    a, b, total = x[..., 0] @ weights, x[..., 1] @ weights, y[..., 0] @ weights
    assert (a < 128).all() and (b < 128).all()
    np.testing.assert_array_equal(a + b, total)


def test_sizes_and_seed():
    def load() -> TaskData:
        split = ValidationPlan(ValidationMode.SPLIT, split=0.2)
        return load_binary_addition(
            name="binary_addition", loss="mse", bits=8, n_train=100, n_test=40, seed=1, validation=split
        )

    data, again = load(), load()
    assert data.sizes == {"n_train": 80, "n_val": 20, "n_test": 40}
    np.testing.assert_array_equal(data.x_train, again.x_train)


@pytest.mark.slow
def test_rnn_learns_addition_and_logs_exact_match(run_cli, store_runs):
    run_cli(
        "data=binary_addition",
        "data.n_test=1000",
        source=None,
    )
    run = store_runs("binary_addition").iloc[0]
    assert run["status"] == "FINISHED"
    assert 0.0 <= run["metrics.test_exact_match"] <= run["metrics.test_acc"] <= 1.0
    assert run["metrics.test_acc"] > 0.9, "the default SimpleRNN learns addition within 5 epochs"
    assert len(mlflow.MlflowClient().get_metric_history(run["run_id"], "val_exact_match")) == 5


@pytest.mark.slow
def test_diverging_trial_fails_with_reason_and_sweep_goes_on(run_cli, store_runs):
    done = run_cli(
        "-m",
        "data=binary_addition",
        "data.n_train=500",
        "data.n_test=100",
        "model.units=16",
        "model.activation=relu",
        "optimizer=sgd",
        "optimizer.learning_rate=0.01,1e12",
        "trainer.epochs=2",
        source=None,
    )
    runs = store_runs("binary_addition")
    children = runs[runs["tags.mlflow.parentRunId"].notna()].set_index("params.optimizer.learning_rate")
    assert children.loc["0.01", "status"] == "FINISHED"
    diverged = children.loc["1000000000000.0", :]
    assert diverged["status"] == "FAILED"
    assert "loss became nan at epoch 1" in diverged["tags.error"]
    assert "RUNNING" not in set(runs["status"])
    assert "loss became nan" in done.stdout, "the closing table shows why the trial failed"
