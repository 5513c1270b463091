"""A password in a store URL never reaches a run's params or its config.yaml artifact."""

from __future__ import annotations

from omegaconf import OmegaConf

from src.tracking.params import flatten_config, masked_config_yaml

SECRET = "s3cr3t-Pa55"


def config_with_secrets():
    return OmegaConf.create(
        {
            "model": {"units": 8},
            "tracking": {
                "tracking_uri": f"http://alice:{SECRET}@mlflow.example:5000",
                "experiment_name": "imdb",
                "storage": "${oc.env:SEQSWEEP_TEST_STORAGE}",
            },
            "data": {"source": "/data/aclImdb.tar.gz"},
        }
    )


def test_params_mask_passwords_also_after_interpolation(monkeypatch):
    monkeypatch.setenv("SEQSWEEP_TEST_STORAGE", f"postgresql+psycopg://bob:{SECRET}@db:5432/optuna")
    params = flatten_config(config_with_secrets())
    assert params["tracking.tracking_uri"] == "http://alice:***@mlflow.example:5000"
    assert params["tracking.storage"] == "postgresql+psycopg://bob:***@db:5432/optuna"
    assert params["model.units"] == "8" and params["data.source"] == "/data/aclImdb.tar.gz"
    assert SECRET not in repr(params)


def test_config_yaml_masks_passwords_and_keeps_everything_else(monkeypatch):
    monkeypatch.setenv("SEQSWEEP_TEST_STORAGE", f"postgresql://bob:{SECRET}@db/optuna?sslpassword={SECRET}")
    text = masked_config_yaml(config_with_secrets())
    assert SECRET not in text
    loaded = OmegaConf.create(text)
    assert loaded.tracking.tracking_uri == "http://alice:***@mlflow.example:5000"
    assert loaded.tracking.storage == "postgresql://bob:***@db/optuna?sslpassword=***"
    assert loaded.model.units == 8


def test_hydras_escaped_form_of_a_url_is_masked_too():
    # How Hydra writes an override back (overrides.yaml, hydra.yaml, the `hydra_overrides` tag).
    from hydra_plugins.seqsweep_plugins import mask_secrets

    text = f"tracking.tracking_uri=http\\://alice\\:{SECRET}@127.0.0.1\\:5000 model.units=4"
    assert mask_secrets(text) == "tracking.tracking_uri=http\\://alice\\:***@127.0.0.1\\:5000 model.units=4"
