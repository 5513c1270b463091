"""Turn reviews into padded word-id sequences, like `keras.datasets.imdb` + `pad_sequences`."""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING

import numpy as np

# Keras and TensorFlow are imported inside the functions: the config checks import the loader
# that imports this module, before TensorFlow is imported (see src/models/keras_names.py).
if TYPE_CHECKING:
    import keras
    import tensorflow as tf

# Reviews carry HTML line breaks; they are not words.
_BREAKS = r"<br\s*/?>"
_PUNCTUATION = "[%s]" % re.escape(string.punctuation)


def _standardize(texts: tf.Tensor) -> tf.Tensor:
    import tensorflow as tf

    texts = tf.strings.lower(texts)
    texts = tf.strings.regex_replace(texts, _BREAKS, " ")
    return tf.strings.regex_replace(texts, _PUNCTUATION, " ")


def fit_vocabulary(train_texts: list[str], num_words: int) -> keras.layers.TextVectorization:
    """A vectorizer over the `num_words` most frequent training words.

    Ids 0 and 1 are padding and out-of-vocabulary, so ids stay below `num_words` as with
    `keras.datasets.imdb.load_data(num_words=...)`. Fitting on training text only keeps the
    test set unseen.
    """
    import keras
    import tensorflow as tf

    vectorizer = keras.layers.TextVectorization(max_tokens=num_words, standardize=_standardize, ragged=True)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(train_texts).batch(2048))
    return vectorizer


def to_padded_ids(
    vectorizer: keras.layers.TextVectorization,
    texts: list[str],
    maxlen: int,
    truncating: str,
    padding: str,
    batch_size: int = 4096,
) -> np.ndarray:
    """Vectorize `texts` and cut or pad every review to `maxlen` ids with `pad_sequences`."""
    import keras
    import tensorflow as tf

    sequences: list[np.ndarray] = []
    for start in range(0, len(texts), batch_size):
        ragged = vectorizer(tf.constant(texts[start : start + batch_size]))
        values = ragged.flat_values.numpy()
        sequences.extend(np.split(values, ragged.row_splits.numpy()[1:-1]))
    return keras.utils.pad_sequences(sequences, maxlen=maxlen, dtype="int32", padding=padding, truncating=truncating, value=0)
