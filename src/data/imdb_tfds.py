"""IMDB reviews through TensorFlow Datasets (`imdb_reviews`): `data.source=tfds`.

TFDS downloads and prepares the dataset into its own data folder on first use
(`TFDS_DATA_DIR`, default `~/tensorflow_datasets`) and reads it from there afterwards. The
25,000 training and 25,000 test reviews are the official archive's, so splits, subsets and
the parsed-review and token caches work exactly as for an archive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from src.data.imdb_archive import DataSourceError, Reviews
from src.data.tfds_arrays import load_split

TFDS_SOURCE = "tfds"


@dataclass(frozen=True)
class TfdsReviews:
    """The `imdb_reviews` dataset of TFDS as a review source (hashable: it keys in-process caches)."""

    name: str = "imdb_reviews"

    def __str__(self) -> str:
        return f"tfds:{self.name}"

    def fingerprint(self) -> str:
        """The dataset's name and TFDS version: a new version of the data is a new cache entry."""
        import tensorflow_datasets as tfds

        return f"tfds:{self.name}:{tfds.builder(self.name).version}"

    def read(self) -> Reviews:
        """Both splits, texts decoded from UTF-8, labels 1 = positive (as in the archive)."""
        try:
            splits = {split: load_split(self.name, split) for split in ("train", "test")}
        except Exception as error:  # TFDS raises download, HTTP and file errors of many types
            raise DataSourceError(
                f"could not load {self.name} through TensorFlow Datasets ({type(error).__name__}: {error}); "
                "on a machine without internet pass data.source=/path/to/aclImdb_v1.tar.gz or an extracted aclImdb folder"
            ) from error
        (train_texts, train_labels, _), (test_texts, test_labels, _) = splits["train"], splits["test"]
        return Reviews(
            [text.decode("utf-8") for text in train_texts],
            train_labels.astype(np.int32),
            [text.decode("utf-8") for text in test_texts],
            test_labels.astype(np.int32),
        )
