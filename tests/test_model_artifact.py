"""A trained model logged with `log_trained_model` loads back from the MLflow store and predicts
what the in-memory model predicts."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from src.tracking.model_artifact import log_trained_model
from src.training.trainer import train

CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.fixture()
def trained(mini_archive: Path, cache_dir: Path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[
                f"data.source={mini_archive}",
                f"data.cache_dir={cache_dir}",
                "data.n_train=50",
                "data.n_test=40",
                "data.maxlen=20",
                "model=lstm",
                "model.units=4",
                "trainer.epochs=1",
            ],
        )
    return train(cfg, verbose=0)


def test_logged_model_loads_and_predicts_like_the_trained_one(
    trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store's default experiment keeps artifacts in ./mlruns of the working directory: the test's own.
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with mlflow.start_run() as run:
        pass
    # Logged into a run that has ended, as a refit job's caller may do, by its id.
    info = log_trained_model(trained.model, example_inputs=trained.data.x_val[:5], run_id=run.info.run_id)

    loaded = mlflow.pyfunc.load_model(info.model_uri)
    token_ids = trained.data.x_test
    expected = trained.model.predict(token_ids, verbose=0)
    np.testing.assert_allclose(np.asarray(loaded.predict(token_ids)), expected, rtol=1e-6, atol=1e-6)
    assert mlflow.get_logged_model(info.model_id).source_run_id == run.info.run_id
    # The signature refuses inputs of another length than the model was trained on.
    with pytest.raises(mlflow.exceptions.MlflowException):
        loaded.predict(token_ids[:, :10])


def test_logs_into_the_active_run(trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with mlflow.start_run() as run:
        info = log_trained_model(trained.model, example_inputs=trained.data.x_val[:5])
    keras_model = mlflow.keras.load_model(info.model_uri)
    np.testing.assert_allclose(
        keras_model.predict(trained.data.x_val, verbose=0), trained.model.predict(trained.data.x_val, verbose=0), atol=1e-6
    )
    assert mlflow.get_logged_model(info.model_id).source_run_id == run.info.run_id
