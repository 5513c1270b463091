"""Class-balanced subsets and stratified validation splits."""

from __future__ import annotations

import numpy as np


def balanced_subset(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of `size` examples drawn at random with the classes as equal as possible.

    Classes get ``size // n_classes`` each; the remainder goes to the first classes.
    """
    classes = np.unique(labels)
    per_class = np.full(len(classes), size // len(classes))
    per_class[: size % len(classes)] += 1
    chosen = []
    for cls, count in zip(classes, per_class):
        members = np.flatnonzero(labels == cls)
        if count > len(members):
            raise ValueError(f"asked for {count} examples of class {cls}, only {len(members)} exist")
        chosen.append(rng.choice(members, size=count, replace=False))
    indices = np.concatenate(chosen)
    rng.shuffle(indices)
    return indices


def stratified_split(
    indices: np.ndarray, labels: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split `indices` into (train, validation) keeping class proportions.

    Keras' `validation_split` takes the *last* rows unshuffled, which on a small balanced
    subset can put a single class in validation; splitting per class avoids that.
    """
    if fraction <= 0:
        return indices, indices[:0]
    train_parts, val_parts = [], []
    subset_labels = labels[indices]
    for cls in np.unique(subset_labels):
        members = indices[subset_labels == cls]
        n_val = int(round(len(members) * fraction))
        val_parts.append(members[:n_val])
        train_parts.append(members[n_val:])
    train, val = np.concatenate(train_parts), np.concatenate(val_parts)
    rng.shuffle(train)
    rng.shuffle(val)
    return train, val
