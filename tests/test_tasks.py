"""Tasks beyond IMDB and binary addition, each a loader + builder + YAML: regression, iris,
MNIST and CIFAR-10, trained through the real trainer and CLI on tiny (or mock) data."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from src.data.regression import load_regression
from src.data.validation_set import ValidationMode, ValidationPlan
from src.errors import ConfigError
from src.training.trainer import train
from src.validation import validate_config

CONF = Path(__file__).resolve().parents[1] / "conf"


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def regression(noise: float, function: str = "linear"):
    return load_regression(
        name="regression",
        loss="mean_squared_error",
        primary_metric="mse",
        function=function,
        noise=noise,
        x_range=(-1.0, 1.0),
        n_train=2000,
        n_test=500,
        seed=0,
        validation=ValidationPlan(ValidationMode.SPLIT, split=0.2),
    )


def test_regression_targets_are_the_function_plus_noise_of_the_given_std():
    clean, noisy = regression(0.0), regression(2.0)
    np.testing.assert_allclose(clean.y_train, 3 * clean.x_train + 2, atol=1e-5)
    np.testing.assert_array_equal(clean.x_test, noisy.x_test)
    assert np.std(noisy.y_test - clean.y_test) == pytest.approx(2.0, rel=0.1)
    assert clean.sizes == {"n_train": 1600, "n_val": 400, "n_test": 500}
    assert clean.spec.kind == "tabular" and clean.spec.target == "real"


def test_regression_data_config_picks_linear_regression_and_mse():
    cfg = config("data=regression")
    assert cfg.model.name == "linear" and list(cfg.model.hidden_units) == []
    assert cfg.data.primary_metric == "mse"
    assert config("data=regression", "model=feedforward").model.name == "feedforward", "the command line still wins"


def test_linear_regression_recovers_3x_plus_2_and_logs_mse():
    result = train(config("data=regression", "trainer.epochs=3"), verbose=0)
    weights = [np.asarray(w).ravel()[0] for w in result.model.get_layer("output").weights]
    assert weights == pytest.approx([3.0, 2.0], abs=0.1)
    assert result.metrics["test_mse"] < 0.01
    assert len(result.history["val_mse"]) == 3 and "mse" in result.history


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (["data.noise=-1"], "data.noise=-1"),
        (["data.function=quartic"], "data.function=quartic"),
        (["data.primary_metric=msee"], "data.primary_metric=msee"),
        (["model=simplernn"], "model=simplernn"),
    ],
)
def test_bad_regression_settings_are_refused(overrides, named):
    with pytest.raises(ConfigError) as refused:
        validate_config(config("data=regression", *overrides))
    assert str(refused.value).startswith(named)


@pytest.mark.slow
def test_regression_test_mse_grows_with_noise(run_cli, store_runs):
    run_cli("-m", "data=regression", "data.noise=0,0.5,2", "data.n_train=4000", source=None)
    runs = store_runs("regression")
    trials = runs[runs["tags.mlflow.parentRunId"].notna()].set_index("params.data.noise")
    mse = [trials.loc[noise, "metrics.test_mse"] for noise in ("0", "0.5", "2")]
    assert mse[0] < 0.01 < mse[1] < mse[2], mse
    # The best possible test MSE is noise^2; linear regression gets close to it.
    assert mse[1] == pytest.approx(0.25, rel=0.3) and mse[2] == pytest.approx(4.0, rel=0.3)
    assert set(trials["params.data.primary_metric"]) == {"mse"}
    history = mlflow.MlflowClient().get_metric_history(trials.iloc[0]["run_id"], "val_mse")
    assert len(history) == 5


def test_iris_learns_the_species_with_a_softmax_head():
    result = train(
        config(
            "data=iris", "model.hidden_units=[8]", "optimizer.learning_rate=0.05", "trainer.epochs=30", "trainer.batch_size=16"
        ),
        verbose=0,
    )
    assert result.model.get_layer("output").units == 3
    assert result.metrics["n_test"] == 30 and result.metrics["n_train"] + result.metrics["n_val"] == 120
    assert result.metrics["test_acc"] > 0.8, "iris is nearly linearly separable"


@pytest.mark.slow
def test_iris_preset_compares_relu_and_sigmoid(run_cli, store_runs):
    run_cli("+sweeps=iris_activation", "model.hidden_units=[4]", "trainer.seed=1", "trainer.epochs=20", source=None)
    runs = store_runs("iris")
    trials = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert sorted(trials["params.model.activation"]) == ["relu", "sigmoid"]
    assert set(trials["status"]) == {"FINISHED"} and trials["metrics.test_acc"].between(0, 1).all()


# Images: TFDS cannot download here, so tfds.testing.mock_data stands in for MNIST and
# CIFAR-10 (random pixels and labels of the real shapes and class counts), in-process.
@pytest.fixture()
def mock_tfds():
    import tensorflow_datasets as tfds

    from src.data.images import image_arrays

    image_arrays.cache_clear()
    with tfds.testing.mock_data(num_examples=120):
        yield
    image_arrays.cache_clear()


def run_in_process(monkeypatch, tmp_path, *args: str) -> None:
    """`python -m src.train ARGS` inside this process (runpy does what `-m` does), so the
    TFDS mock applies to it."""
    import runpy
    import sys

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(sys, "argv", ["src.train", *args])
    runpy.run_module("src.train", run_name="__main__", alter_sys=False)


@pytest.mark.parametrize(("data", "shape"), [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))])
def test_image_task_trains_the_cnn_on_mock_data(mock_tfds, data, shape):
    cfg = config(f"data={data}", "trainer.epochs=1", "model.filters=[4]", "model.hidden_units=[8]")
    validate_config(cfg)
    result = train(cfg, verbose=0)
    assert cfg.model.name == "cnn"
    assert result.data.spec.image_shape == shape and result.model.get_layer("output").units == 10
    assert result.metrics["n_train"] + result.metrics["n_val"] == 120 and result.metrics["n_test"] == 120
    assert 0 <= result.metrics["test_acc"] <= 1


def test_image_sizes_are_checked_against_the_dataset(mock_tfds):
    with pytest.raises(ConfigError) as refused:
        validate_config(config("data=mnist", "data.n_train=500"))
    assert str(refused.value).startswith("data.n_train=500") and "at most 120" in str(refused.value)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("preset", "experiment", "overrides", "varied"),
    [
        ("mnist_dense", "mnist", ["model.hidden_units=[16],[16,16,16]", "optimizer.learning_rate=1e-3"], "model.hidden_units"),
        ("mnist_cnn", "mnist", ["data.n_train=30,null", "model.filters=[4]"], "data.n_train"),
        ("cifar10_cnn", "cifar10", ["model.filters=[4],[4,8]", "model.dropout=0.25"], "model.filters"),
    ],
)
def test_image_presets_run_end_to_end_on_mock_data(
    mock_tfds, monkeypatch, tmp_path, store_runs, preset, experiment, overrides, varied
):
    run_in_process(monkeypatch, tmp_path, f"+sweeps={preset}", "trainer.epochs=1", *overrides)
    runs = store_runs(experiment)
    trials = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert len(trials) == 2 and set(trials["status"]) == {"FINISHED"}
    assert trials[f"params.{varied}"].nunique() == 2
    assert trials["metrics.test_acc"].between(0, 1).all() and (trials["params.data.primary_metric"] == "acc").all()
