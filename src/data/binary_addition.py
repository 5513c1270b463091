"""The course's 8-bit binary-addition task: add two numbers bit by bit, least significant bit first."""

from __future__ import annotations

import numpy as np

from src.data.task import InputRequest, InputSpec, TaskData, provides_inputs
from src.data.validation_set import FINGERPRINT_KEY, ValidationMode, ValidationPlan, fingerprint
from src.errors import ConfigError

# Training pairs are drawn in chunks of this many whatever n_train is, so that one seed's
# smaller training sets are prefixes of its larger ones (nested subsets).
CHUNK = 4096


def exact_match(y_true, y_pred):
    """1 for a sequence whose every bit is right (the whole sum is correct), else 0."""
    import keras  # here, not at the top: the config checks import this loader before TensorFlow

    correct = keras.ops.equal(keras.ops.cast(y_pred > 0.5, "float32"), keras.ops.cast(y_true, "float32"))
    return keras.ops.cast(keras.ops.all(keras.ops.reshape(correct, (keras.ops.shape(correct)[0], -1)), axis=1), "float32")


def to_bits(numbers: np.ndarray, bits: int) -> np.ndarray:
    """Binary digits of each number, least significant first: shape (len(numbers), bits)."""
    return ((numbers[:, None] >> np.arange(bits)) & 1).astype(np.float32)


def addition_examples(count: int, bits: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`count` random pairs a, b < 2**(bits-1), so a + b always fits in `bits` bits.

    Inputs have shape (count, bits, 2): step t holds bit t of a and of b. Targets have
    shape (count, bits, 1): bit t of a + b.
    """
    limit = 2 ** (bits - 1)
    a, b = rng.integers(0, limit, size=count), rng.integers(0, limit, size=count)
    return _encoded(a, b, bits)


def _encoded(a: np.ndarray, b: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.stack([to_bits(a, bits), to_bits(b, bits)], axis=-1)
    y = to_bits(a + b, bits)[..., None]
    return x, y


def _pairs(count: int, bits: int, rng: np.random.Generator) -> np.ndarray:
    """`count` random (a, b) rows; one seed's first rows are the same for any `count`."""
    return rng.integers(0, 2 ** (bits - 1), size=(count, 2))


def _training_pairs(count: int, bits: int, rng: np.random.Generator, excluded: np.ndarray) -> np.ndarray:
    """`count` random pairs that are not validation pairs (`excluded`), nested across counts."""
    limit = 2 ** (bits - 1)
    taken = np.zeros(limit * limit, dtype=bool)
    taken[excluded[:, 0] * limit + excluded[:, 1]] = True
    kept: list[np.ndarray] = []
    while sum(len(part) for part in kept) < count:
        chunk = rng.integers(0, limit, size=(CHUNK, 2))
        kept.append(chunk[~taken[chunk[:, 0] * limit + chunk[:, 1]]])
    return np.concatenate(kept)[:count]


def check_addition_sizes(cfg) -> None:
    """Validation needs at least one example, and training at least one more."""
    plan = ValidationPlan.from_trainer(cfg.trainer)
    if plan.mode is ValidationMode.FIXED:
        if plan.fixed_size(None) < 1:
            raise ConfigError("trainer.validation_size", plan.size, "at least 1 pair, or null for the default")
        if cfg.data.n_train < 1:
            raise ConfigError("data.n_train", cfg.data.n_train, "at least 1 training pair (validation pairs are drawn apart)")
        return
    n_val = int(round(cfg.data.n_train * cfg.trainer.validation_split))
    if cfg.data.n_train - n_val < 1 or (cfg.trainer.validation_split > 0 and n_val < 1):
        raise ConfigError(
            "data.n_train",
            cfg.data.n_train,
            f"too small to leave examples for both training and validation (trainer.validation_split={cfg.trainer.validation_split})",
        )


@provides_inputs("features", check_sizes=check_addition_sizes)
def load_binary_addition(
    *,
    name: str,
    loss: str,
    bits: int,
    n_train: int,
    n_test: int,
    seed: int,
    validation: ValidationPlan,
    inputs: InputRequest | None = None,
    primary_metric: str = "acc",
) -> TaskData:
    """Seeded train / validation / test sets of the binary-addition task (bit features only).

    `fixed` validation: pairs drawn with `validation.seed` alone, the same for every trial, and
    `n_train` training pairs besides them (none of them a validation pair; nested across
    `n_train` for one seed); the test pairs come from the seed's own stream. `split`: validation
    is split off the `n_train` pairs."""
    if inputs is not None and inputs.kind != "features":
        raise ValueError(f"binary addition comes as features, not {inputs.kind}")
    rng = np.random.default_rng(seed)
    if validation.mode is ValidationMode.FIXED:
        val_pairs = _pairs(validation.fixed_size(None), bits, np.random.default_rng(validation.seed))
        x_val, y_val = _encoded(val_pairs[:, 0], val_pairs[:, 1], bits)
        train_pairs = _training_pairs(n_train, bits, rng, val_pairs)
        x_train, y_train = _encoded(train_pairs[:, 0], train_pairs[:, 1], bits)
        x_test, y_test = addition_examples(n_test, bits, np.random.default_rng([seed, 1]))
    else:
        x_all, y_all = addition_examples(n_train, bits, rng)
        x_test, y_test = addition_examples(n_test, bits, rng)
        n_val = int(round(n_train * validation.split))
        x_train, y_train, x_val, y_val = x_all[n_val:], y_all[n_val:], x_all[:n_val], y_all[:n_val]
    return TaskData(
        name=name,
        spec=InputSpec(kind="features", sequence_length=bits, n_features=2, per_step_targets=True),
        loss=loss,
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        x_test=x_test,
        y_test=y_test,
        metrics=["acc", exact_match],
        primary_metric=primary_metric,
        info={FINGERPRINT_KEY: fingerprint("binary_addition", x_val, y_val)},
    )
