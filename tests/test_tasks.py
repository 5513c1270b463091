"""Tasks beyond IMDB and binary addition, each a loader + builder + YAML: regression, iris,
MNIST and CIFAR-10, trained through the real trainer and CLI on tiny (or mock) data."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from src.data.regression import load_regression
from src.errors import ConfigError
from src.training.trainer import train
from src.validation import validate_config

CONF = Path(__file__).resolve().parents[1] / "conf"


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def regression(noise: float, function: str = "linear"):
    return load_regression(
        name="regression", loss="mean_squared_error", primary_metric="mse", function=function, noise=noise,
        x_range=(-1.0, 1.0), n_train=2000, n_test=500, seed=0, validation_split=0.2,
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
    [(["data.noise=-1"], "data.noise=-1"), (["data.function=quartic"], "data.function=quartic"),
     (["data.primary_metric=msee"], "data.primary_metric=msee"), (["model=simplernn"], "model=simplernn")],
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
