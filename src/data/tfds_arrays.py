"""Whole splits of a TensorFlow Datasets dataset as NumPy arrays.

`tfds.load` downloads and prepares the dataset into `data_dir` (TFDS' own cache,
`~/tensorflow_datasets` by default) on first use and reads the prepared files afterwards;
on a machine without internet only an already prepared `data_dir` works.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Reading in batches of this size and concatenating: `tfds.load(batch_size=-1)` (one batch
# of the whole split) aborts in TensorFlow 2.21 ("vector::reserve") on our machines.
_READ_BATCH = 4096


def load_split(
    name: str, split: str, data_dir: str | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray, Any]:
    """(inputs, labels, dataset info) of `split`, read as (input, label) pairs (`as_supervised`)."""
    import tensorflow_datasets as tfds  # imported here: it costs seconds and most tasks never need it

    dataset, info = tfds.load(name, split=split, as_supervised=True, with_info=True, data_dir=data_dir, download=download)
    inputs, labels = [], []
    for batch_inputs, batch_labels in tfds.as_numpy(dataset.batch(_READ_BATCH)):
        inputs.append(batch_inputs)
        labels.append(batch_labels)
    if not inputs:
        raise ValueError(f"TFDS dataset {name} split {split} is empty")
    return np.concatenate(inputs), np.concatenate(labels).astype(np.int32), info
