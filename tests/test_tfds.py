"""data.source=tfds: IMDB through TensorFlow Datasets' imdb_reviews, on TFDS' mock data
(no download works here), with the archive path's splits, subsets and caches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds
from hydra import compose, initialize_config_dir

from src.data.imdb import load_imdb, review_texts, token_arrays
from src.data.imdb_archive import DataSourceError
from src.data.imdb_tfds import TfdsReviews
from src.data.validation_set import ValidationMode, ValidationPlan
from src.training.trainer import train
from src.validation import validate_config

CONF = Path(__file__).resolve().parents[1] / "conf"
N_MOCK = 200  # mock reviews per split


@pytest.fixture()
def mock_imdb():
    token_arrays.cache_clear()
    review_texts.cache_clear()
    with tfds.testing.mock_data(num_examples=N_MOCK):
        yield
    token_arrays.cache_clear()
    review_texts.cache_clear()


def load(cache_dir, **overrides):
    settings = {
        "name": "imdb",
        "loss": "binary_crossentropy",
        "source": "tfds",
        "cache_dir": str(cache_dir),
        "num_words": 500,
        "maxlen": 20,
        "truncating": "pre",
        "padding": "pre",
        "n_train": 100,
        "n_test": 50,
        "seed": 3,
        "validation": ValidationPlan(ValidationMode.SPLIT, split=0.2),
    }
    return load_imdb(**{**settings, **overrides})


def test_tfds_source_gives_balanced_token_ids_and_caches_them(mock_imdb, tmp_path):
    data = load(tmp_path)
    assert data.info["source"] == "tfds:imdb_reviews"
    assert data.x_train.shape == (80, 20) and data.x_train.dtype.kind == "i" and data.x_train.max() < 500
    assert data.sizes == {"n_train": 80, "n_val": 20, "n_test": 50}
    assert np.bincount(np.concatenate([data.y_train, data.y_val])).tolist() == [50, 50]
    assert not data.info["data_cache_hit"]
    token_arrays.cache_clear()  # what a new process starts with
    again = load(tmp_path)
    assert again.info["data_cache_hit"], "the second process reads the token cache, not TFDS"
    np.testing.assert_array_equal(again.x_train, data.x_train)


def test_tfds_source_serves_raw_text_too(mock_imdb, tmp_path):
    from src.data.task import InputRequest

    data = load(tmp_path, inputs=InputRequest("text"))
    assert data.x_train.dtype == object and all(isinstance(text, str) for text in data.x_train)


def test_training_on_tfds_source_through_the_config(mock_imdb, tmp_path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[
                "data.source=tfds",
                f"data.cache_dir={tmp_path}",
                "data.n_train=100",
                "data.n_test=40",
                "data.maxlen=10",
                "model.units=4",
                "model.embedding_dim=4",
                "trainer.epochs=1",
            ],
        )
    validate_config(cfg)
    result = train(cfg, verbose=0)
    assert result.metrics["n_test"] == 40 and 0 <= result.metrics["test_acc"] <= 1
    assert len(result.history["val_acc"]) == 1


def test_tfds_failure_is_a_data_source_error_that_says_what_to_do():
    # A name TFDS does not know fails at once, offline or not, through the same path as a
    # failed download (which needs the network to show).
    with pytest.raises(DataSourceError, match="data.source=/path/to/aclImdb_v1.tar.gz"):
        TfdsReviews(name="imdb_reviews_no_such_dataset").read()
