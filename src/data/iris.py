"""Fisher's iris (150 flowers, 4 measurements, 3 species), as bundled with scikit-learn, so
it needs no download: a class-balanced test set, a stratified validation split, and
features standardized with the training flowers' mean and std."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_iris as bundled_iris

from src.data.subsets import balanced_subset, stratified_split
from src.data.task import InputRequest, InputSpec, TaskData, provides_inputs
from src.errors import ConfigError

N_FLOWERS = 150


def check_iris_sizes(cfg) -> None:
    """The test set must leave flowers of every species for training and validation."""
    n_test = cfg.data.n_test
    if n_test >= N_FLOWERS - 6:
        raise ConfigError("data.n_test", n_test, f"fewer than {N_FLOWERS - 6} of the {N_FLOWERS} flowers")


@provides_inputs("tabular", check_sizes=check_iris_sizes)
def load_iris(
    *,
    name: str,
    loss: str,
    primary_metric: str,
    n_test: int,
    standardize: bool,
    seed: int,
    validation_split: float,
    inputs: InputRequest | None = None,
) -> TaskData:
    """`n_test` flowers (balanced over species, drawn with `seed`) for testing; the rest are
    split per species into training and validation."""
    if inputs is not None and inputs.kind != "tabular":
        raise ValueError(f"iris comes as tabular features, not {inputs.kind}")
    bundle = bundled_iris()
    x, y = bundle.data.astype(np.float32), bundle.target.astype(np.int32)
    rng = np.random.default_rng(seed)
    test_idx = balanced_subset(y, n_test, rng)
    rest = np.setdiff1d(np.arange(len(y)), test_idx)
    train_idx, val_idx = stratified_split(rng.permutation(rest), y, validation_split, rng)
    if standardize:
        # Training statistics only, so nothing about validation or test flowers leaks in.
        mean, std = x[train_idx].mean(axis=0), x[train_idx].std(axis=0)
        x = (x - mean) / std
    return TaskData(
        name=name,
        spec=InputSpec(kind="tabular", n_features=x.shape[1], target="classes", n_classes=len(bundle.target_names)),
        loss=loss,
        x_train=x[train_idx],
        y_train=y[train_idx],
        x_val=x[val_idx],
        y_val=y[val_idx],
        x_test=x[test_idx],
        y_test=y[test_idx],
        primary_metric=primary_metric,
    )
