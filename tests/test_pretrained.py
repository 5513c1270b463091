"""model=pretrained: a TF-Hub layer from a local SavedModel, cached USE-multilingual vectors, bad handles."""

from __future__ import annotations

import math
import tarfile
import time
from pathlib import Path

import keras
import mlflow
import numpy as np
import pytest
import tensorflow as tf

from src.data.imdb import load_imdb
from src.data.imdb_archive import read_reviews
from src.data.task import InputRequest, InputSpec
from src.data.tokenize import fit_vocabulary, to_padded_ids
from src.data.validation_set import ValidationMode, ValidationPlan
from src.errors import ConfigError
from src.models.pretrained import build_pretrained
from src.validation import validate_config


class TinyTextEncoder(tf.Module):
    """Strings -> mean of hashed-word vectors: a stand-in for a TF-Hub text embedding."""

    def __init__(self, buckets: int = 1000, dim: int = 16) -> None:
        super().__init__()
        self.buckets = buckets
        self.table = tf.Variable(tf.random.stateless_normal([buckets, dim], seed=[1, 2]) * 0.1, name="table")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, sentences: tf.Tensor) -> tf.Tensor:
        words = tf.strings.split(tf.strings.lower(sentences))
        vectors = tf.ragged.map_flat_values(tf.gather, self.table, tf.strings.to_hash_bucket_fast(words, self.buckets))
        counts = tf.cast(tf.maximum(words.row_lengths(), 1), tf.float32)[:, None]
        return tf.reduce_sum(vectors, axis=1) / counts


@pytest.fixture(scope="module")
def tiny_savedmodel(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hub") / "tiny_text_encoder"
    tf.saved_model.save(TinyTextEncoder(), str(path))
    return path


@pytest.fixture(scope="module")
def few_dozen_reviews(tmp_path_factory, mini_archive) -> Path:
    """An aclImdb archive of 60 reviews (15 per class and split), cut from the mini archive."""
    target = tmp_path_factory.mktemp("tiny-imdb") / "aclImdb_tiny.tar.gz"
    kept: dict[str, int] = {}
    with tarfile.open(mini_archive) as source, tarfile.open(target, "w:gz") as out:
        for member in source:
            folder = member.name.rsplit("/", 1)[0]
            if member.isfile() and member.name.endswith(".txt") and folder.endswith(("/pos", "/neg")):
                if kept.get(folder, 0) == 15:
                    continue
                kept[folder] = kept.get(folder, 0) + 1
                out.addfile(member, source.extractfile(member))
    assert sorted(kept.values()) == [15, 15, 15, 15]
    return target


def _only_run(store_runs) -> dict:
    runs = store_runs()
    assert len(runs) == 1
    return runs.iloc[0].to_dict()


@pytest.mark.slow
def test_hub_encoder_from_a_local_savedmodel_trains_through_the_cli(run_cli, store_runs, tiny_savedmodel):
    done = run_cli("model=pretrained", "model.encoder=hub", f"model.handle={tiny_savedmodel}", "trainer.epochs=3")
    run = _only_run(store_runs)
    assert run["status"] == "FINISHED" and run["tags.model"] == "pretrained", done.stdout[-2000:]
    assert run["metrics.n_test"] == 500 and run["metrics.n_train"] + run["metrics.n_val"] == 500
    # The 1000 x 16 table is fine-tuned (trainable by default) with Dense(16) and Dense(1).
    summary = mlflow.artifacts.load_text(f"runs:/{run['run_id']}/model_summary.txt")
    assert "hub_encoder" in summary and "HubTextEncoder" in summary
    trainable = int(summary.split("Trainable params:")[1].split()[0].replace(",", ""))
    assert trainable == 1000 * 16 + (16 * 16 + 16) + (16 + 1)
    # Hashed words carry sentiment: three epochs on 400 reviews beat chance on the 500 test reviews,
    # by more than 3 standard errors of a coin's accuracy there (0.5 + 3 * sqrt(0.25 / 500) = 0.567).
    assert run["metrics.test_acc"] > 0.5 + 3 * math.sqrt(0.25 / 500)


@pytest.mark.parametrize("trainable", [True, False])
def test_hub_encoder_weights_change_only_when_trainable(tiny_savedmodel, trainable):
    keras.utils.set_random_seed(0)
    model = build_pretrained(
        spec=InputSpec(kind="text"), name="pretrained", encoder="hub", handle=str(tiny_savedmodel), trainable=trainable
    )
    table = model.get_layer("hub_encoder").weights[0]
    assert table.shape == (1000, 16) and any(w is table for w in model.trainable_weights) is trainable
    texts = np.array(["a great film", "an awful film", "great acting", "awful plot"] * 8, dtype=object)
    labels = np.array([1, 0, 1, 0] * 8)
    before, dense_before = table.numpy().copy(), model.layers[-1].kernel.numpy().copy()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    model.fit(texts, labels, epochs=3, verbose=0)
    assert not np.allclose(model.layers[-1].kernel.numpy(), dense_before), "the head always trains"
    assert (not np.allclose(table.numpy(), before)) is trainable
    # The tracked weight is the variable the SavedModel's function reads: zeroing it
    # makes every text embed to zeros, so every prediction becomes the same.
    table.assign(np.zeros((1000, 16), dtype="float32"))
    predictions = model.predict(texts, verbose=0)
    np.testing.assert_allclose(predictions, predictions[0, 0], rtol=1e-6)


def test_text_and_token_ids_come_from_the_same_split(mini_archive, cache_dir):
    settings = {
        "name": "imdb",
        "loss": "binary_crossentropy",
        "source": str(mini_archive),
        "cache_dir": str(cache_dir),
        "num_words": 2000,
        "maxlen": 20,
        "truncating": "pre",
        "padding": "pre",
        "n_train": 20,
        "n_test": 50,
        "seed": 3,
        "validation": ValidationPlan(ValidationMode.SPLIT, split=0.2),
    }
    tokens = load_imdb(**settings)
    texts = load_imdb(**settings, inputs=InputRequest("text"))
    assert texts.spec.kind == "text" and texts.sizes == tokens.sizes == {"n_train": 16, "n_val": 4, "n_test": 50}
    vectorizer = fit_vocabulary(read_reviews(mini_archive).train_texts, 2000)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(texts, f"y_{split}"), getattr(tokens, f"y_{split}"))
        ids = to_padded_ids(vectorizer, list(getattr(texts, f"x_{split}")), 20, "pre", "pre")
        np.testing.assert_array_equal(ids, getattr(tokens, f"x_{split}"))


@pytest.mark.slow
def test_use_multilingual_encodes_once_and_later_runs_reuse_the_cache(run_cli, store_runs, tmp_path, few_dozen_reviews):
    own_cache = tmp_path / "cache"
    args = ("model=pretrained", "model.encoder=use_multilingual", "trainer.epochs=2")
    env = {"SEQSWEEP_CACHE_DIR": str(own_cache)}
    first = run_cli(*args, extra_env=env, source=few_dozen_reviews)
    assert "encoding reviews with use_multilingual" in first.stderr
    (cached,) = own_cache.glob("imdb-embeddings-use_multilingual-*.npz")
    written = cached.stat().st_mtime_ns

    second = run_cli(*args, extra_env=env, source=few_dozen_reviews)
    assert "encoding reviews" not in second.stderr, "the second process must not encode again"
    assert cached.stat().st_mtime_ns == written
    runs = store_runs().sort_values("start_time")
    assert list(runs["status"]) == ["FINISHED", "FINISHED"]
    assert list(runs["metrics.n_test"]) == [30, 30] and list(runs["metrics.n_train"] + runs["metrics.n_val"]) == [30, 30]
    first_seconds, second_seconds = runs["metrics.data_seconds"]
    # The first trial is charged the encoding of all 60 reviews; the second only loads vectors.
    assert second_seconds < 1.0 < first_seconds, (first_seconds, second_seconds)


BAD_HANDLES = {
    "missing folder": "/nonexistent/nnlm-en-dim50",
    "folder without a SavedModel": "{tmp}",
    "unreachable URL": "https://tfhub.invalid/google/nnlm-en-dim50/2",
}


@pytest.mark.parametrize("handle", BAD_HANDLES.values(), ids=BAD_HANDLES.keys())
def test_bad_handle_fails_fast_saying_how_to_use_a_local_copy(compose_config, tmp_path, handle):
    handle = handle.format(tmp=tmp_path)
    cfg = compose_config("model=pretrained", "model.encoder=hub", f"model.handle={handle}")
    start = time.perf_counter()
    with pytest.raises(ConfigError) as refused:
        validate_config(cfg)
    assert time.perf_counter() - start < 30
    message = str(refused.value)
    assert message.startswith(f"model.handle={handle} is not allowed") and "\n" not in message
    assert "model.handle=/path/to/savedmodel" in message


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (["model.encoder=bert"], "model.encoder=bert"),
        (["model.trainable=true"], "model.trainable=True"),
        (["data=binary_addition"], "model=pretrained"),
    ],
)
def test_pretrained_settings_that_cannot_work_are_refused(compose_config, overrides, named):
    with pytest.raises(ConfigError, match=named):
        validate_config(compose_config("model=pretrained", *overrides))
