"""Fisher's iris (150 flowers, 4 measurements, 3 species), as bundled with scikit-learn, so
it needs no download: a class-balanced test set, a validation set (fixed for the sweep, or a
stratified split), and features standardized with the training flowers' mean and std."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_iris as bundled_iris

from src.data.subsets import balanced_subset, stratified_split
from src.data.task import InputRequest, InputSpec, TaskData, provides_inputs
from src.data.validation_set import FINGERPRINT_KEY, ValidationMode, ValidationPlan, fingerprint
from src.errors import ConfigError

N_FLOWERS = 150


def check_iris_sizes(cfg) -> None:
    """The test and validation sets must leave flowers of every species for training."""
    n_test = cfg.data.n_test
    if n_test >= N_FLOWERS - 6:
        raise ConfigError("data.n_test", n_test, f"fewer than {N_FLOWERS - 6} of the {N_FLOWERS} flowers")
    plan = ValidationPlan.from_trainer(cfg.trainer)
    if plan.mode is ValidationMode.FIXED and not 3 <= plan.fixed_size(N_FLOWERS - n_test) <= N_FLOWERS - n_test - 6:
        raise ConfigError(
            "trainer.validation_size",
            plan.size,
            f"between 3 and {N_FLOWERS - n_test - 6}: a flower of each species for validation, and 2 each "
            f"left for training (data.n_test={n_test})",
        )


@provides_inputs("tabular", check_sizes=check_iris_sizes)
def load_iris(
    *,
    name: str,
    loss: str,
    primary_metric: str,
    n_test: int,
    standardize: bool,
    seed: int,
    validation: ValidationPlan,
    inputs: InputRequest | None = None,
) -> TaskData:
    """`n_test` flowers (balanced over species, drawn with `seed`) for testing; the rest train,
    except the validation flowers: in `fixed` mode drawn once with `validation.seed` (before the
    test flowers, so every seed validates on them), in `split` mode split off per species."""
    if inputs is not None and inputs.kind != "tabular":
        raise ValueError(f"iris comes as tabular features, not {inputs.kind}")
    bundle = bundled_iris()
    x, y = bundle.data.astype(np.float32), bundle.target.astype(np.int32)
    rng = np.random.default_rng(seed)
    if validation.mode is ValidationMode.FIXED:
        size = validation.fixed_size(N_FLOWERS - n_test)
        val_idx = np.sort(balanced_subset(y, size, np.random.default_rng(validation.seed)))
        others = np.setdiff1d(np.arange(len(y)), val_idx)
        test_idx = others[balanced_subset(y[others], n_test, rng)]
        train_idx = rng.permutation(np.setdiff1d(others, test_idx))
    else:
        test_idx = balanced_subset(y, n_test, rng)
        rest = np.setdiff1d(np.arange(len(y)), test_idx)
        train_idx, val_idx = stratified_split(rng.permutation(rest), y, validation.split, rng)
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
        info={FINGERPRINT_KEY: fingerprint("sklearn-iris", np.sort(val_idx))},
    )
