"""Baseline for the main command: the same 9 fits and evaluations as a plain Keras script.

Reads the archive, learns a 10,000-word vocabulary on the training reviews, keeps the last
50 tokens of each review, and for SimpleRNN / LSTM / GRU x n_train 10, 100, 25000 trains
Embedding(128) -> RNN(64) -> Dense(1, sigmoid) with Adam for 5 epochs (batch 32, 20%
stratified validation) and evaluates on all 25,000 test reviews (batch 256). No Hydra, no
MLflow, no caching: what a notebook user would write.

    python benchmarks/bare_keras_loop.py ARCHIVE
"""

import re
import sys
import tarfile
import time

import keras
import numpy as np
import tensorflow as tf

PATTERN = re.compile(r"aclImdb/(train|test)/(pos|neg)/(\d+)_\d+\.txt$")


def read(archive):
    rows = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            match = PATTERN.search(member.name)
            if match:
                split, label, review_id = match.groups()
                rows.append((split, int(label == "pos"), int(review_id), tar.extractfile(member).read().decode()))
    rows.sort(key=lambda r: r[:3])
    pick = lambda split: ([r[3] for r in rows if r[0] == split], np.array([r[1] for r in rows if r[0] == split]))  # noqa: E731
    return pick("train"), pick("test")


def standardize(x):
    x = tf.strings.regex_replace(tf.strings.lower(x), r"<br\s*/?>", " ")
    return tf.strings.regex_replace(x, r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]", " ")


def main(archive):
    start = time.perf_counter()
    (train_texts, y_train), (test_texts, y_test) = read(archive)
    vectorize = keras.layers.TextVectorization(max_tokens=10000, standardize=standardize, ragged=True)
    vectorize.adapt(tf.data.Dataset.from_tensor_slices(train_texts).batch(2048))

    def encode(texts):
        ragged = vectorize(tf.constant(texts))
        rows = np.split(ragged.flat_values.numpy(), ragged.row_splits.numpy()[1:-1])
        return keras.utils.pad_sequences(rows, maxlen=50)

    x_train, x_test = encode(train_texts), encode(test_texts)
    print(f"data: {time.perf_counter() - start:.1f}s", flush=True)

    for layer in (keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU):
        for n_train in (10, 100, 25000):
            keras.backend.clear_session()
            keras.utils.set_random_seed(42)
            rng = np.random.default_rng(42)
            train_idx, val_idx = [], []
            for cls in (0, 1):
                members = rng.choice(np.flatnonzero(y_train == cls), n_train // 2, replace=False)
                n_val = round(len(members) * 0.2)
                val_idx.append(members[:n_val])
                train_idx.append(members[n_val:])
            train_idx, val_idx = np.concatenate(train_idx), np.concatenate(val_idx)
            rng.shuffle(train_idx)
            model = keras.Sequential(
                [
                    keras.Input((50,), dtype="int32"),
                    keras.layers.Embedding(10000, 128),
                    layer(64),
                    keras.layers.Dense(1, activation="sigmoid"),
                ]
            )
            model.compile("adam", "binary_crossentropy", metrics=["acc"])
            fit_start = time.perf_counter()
            model.fit(
                x_train[train_idx],
                y_train[train_idx],
                validation_data=(x_train[val_idx], y_train[val_idx]),
                epochs=5,
                batch_size=32,
                verbose=0,
            )
            fit_seconds = time.perf_counter() - fit_start
            _, test_acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
            print(f"{layer.__name__} n_train={n_train} test_acc={test_acc:.4f} fit={fit_seconds:.1f}s", flush=True)
    print(f"total: {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main(sys.argv[1])
