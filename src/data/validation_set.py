"""Which examples validate a trial: one fixed set for the whole sweep, or a split of each trial's subset.

`fixed` (the default) draws a class-balanced validation set once, with `trainer.validation_seed`,
from the source's training examples; every trial of a sweep, whatever its `data.n_train` and
`trainer.seed`, is validated on those same examples, so validation metrics compare across
trials. A trial's training subset is drawn from the examples outside that set, and subsets of
one seed are nested: the 100-example subset holds the 10-example one. `split` holds out
`trainer.validation_split` of each trial's own subset (the set changes with size and seed).

Every loader reports a fingerprint of the examples it validates on (`TaskData.info`), logged as
the `validation_fingerprint` tag, so "the same validation set" can be checked after the fact.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

import numpy as np

from src.data.subsets import balanced_subset, stratified_split
from src.errors import ConfigError

# The key naming a validation set's fingerprint in a loader's `TaskData.info`, in the metrics a
# trial returns to the sweeper (conf/config.yaml's best_among.set_key) and in its run's tags.
FINGERPRINT_KEY = "validation_fingerprint"

# The default fixed set: a fifth of the source's training examples, at most this many
# (2,500 of IMDB's 25,000 reviews; 100 of the mini archive's 500).
DEFAULT_MAX_SIZE = 2500
DEFAULT_SHARE = 0.2


class ValidationMode(enum.StrEnum):
    FIXED = "fixed"
    SPLIT = "split"


@dataclass(frozen=True)
class ValidationPlan:
    """The trainer's validation settings, as a loader needs them.

    size: the fixed set's size; None = `default_size` of the source's training examples.
    """

    mode: ValidationMode = ValidationMode.FIXED
    split: float = 0.2
    size: int | None = None
    seed: int = 0

    @classmethod
    def from_trainer(cls, trainer) -> ValidationPlan:
        return cls(
            mode=ValidationMode(trainer.get("validation", ValidationMode.FIXED)),
            split=float(trainer.validation_split),
            size=trainer.get("validation_size"),
            seed=int(trainer.get("validation_seed", 0)),
        )

    def fixed_size(self, available: int | None) -> int:
        """The fixed set's size for a source of `available` training examples (None: unbounded, a generator)."""
        if self.size is not None:
            return int(self.size)
        return DEFAULT_MAX_SIZE if available is None else min(DEFAULT_MAX_SIZE, round(DEFAULT_SHARE * available))


@dataclass(frozen=True)
class Split:
    """Indices into the source's training examples."""

    train: np.ndarray
    validation: np.ndarray


def fixed_split(labels: np.ndarray, n_train: int | None, plan: ValidationPlan, rng: np.random.Generator) -> Split:
    """The sweep's validation set (drawn with `plan.seed` alone) and a training subset of
    `n_train` examples from the rest, drawn with `rng` (the trial's seed).

    `n_train` None, or the number of all training examples, means every example outside the
    validation set. Otherwise the subset is class-balanced and nested: the same `rng` seed
    gives each class a fixed order, and a subset takes the first examples of each class.
    """
    validation = np.sort(balanced_subset(labels, plan.fixed_size(len(labels)), np.random.default_rng(plan.seed)))
    rest = np.setdiff1d(np.arange(len(labels)), validation)
    if n_train is None or n_train == len(labels):
        return Split(rng.permutation(rest), validation)
    classes = np.unique(labels)
    counts = _per_class(n_train, len(classes))
    # Each class's order depends on the seed alone, never on n_train: that is what nests the subsets.
    orders = [rng.permutation(rest[labels[rest] == cls]) for cls in classes]
    chosen = np.concatenate([order[:count] for order, count in zip(orders, counts)])
    return Split(rng.permutation(chosen), validation)


def split_subset(labels: np.ndarray, n_train: int | None, plan: ValidationPlan, rng: np.random.Generator) -> Split:
    """`split` mode: a balanced subset of `n_train` (None: all, in the source's class shares), then
    `plan.split` of it held out per class."""
    chosen = balanced_subset(labels, n_train, rng) if n_train else rng.permutation(len(labels))
    train, validation = stratified_split(chosen, labels, plan.split, rng)
    return Split(train, validation)


def draw(labels: np.ndarray, n_train: int | None, plan: ValidationPlan, rng: np.random.Generator) -> Split:
    return (fixed_split if plan.mode is ValidationMode.FIXED else split_subset)(labels, n_train, plan, rng)


def check_fixed_sizes(labels: np.ndarray, n_train: int | None, plan: ValidationPlan, what: str) -> None:
    """Refuse a fixed set or training size that does not fit the source's `labels` (one line each).

    what: the examples' name in messages (`reviews`, `images`).
    """
    classes, available = np.unique(labels, return_counts=True)
    size = plan.fixed_size(len(labels))
    fewest = int(available.min())
    if size < len(classes) or _per_class(size, len(classes))[0] >= fewest:
        raise ConfigError(
            "trainer.validation_size",
            plan.size,
            f"between {len(classes)} and {len(classes) * (fewest - 1)}: each of the {len(classes)} classes "
            f"needs a validation and a training example (the source has {len(labels)} training {what})",
        )
    if n_train is None or n_train == len(labels):
        return
    outside = available - _per_class(size, len(classes))
    fits = n_train >= len(classes) and all(c <= o for c, o in zip(_per_class(n_train, len(classes)), outside))
    if not fits:
        raise ConfigError(
            "data.n_train",
            n_train,
            f"between {len(classes)} and {int(outside.min()) * len(classes)} (class-balanced, outside the "
            f"{size}-example validation set; trainer.validation_size), or {len(labels)} or null for all "
            f"{int(outside.sum())} training {what} outside it",
        )


def _per_class(size: int, n_classes: int) -> np.ndarray:
    """How `balanced_subset` shares `size` examples between classes: equal, the remainder to the first."""
    counts = np.full(n_classes, size // n_classes)
    counts[: size % n_classes] += 1
    return counts


def fingerprint(*parts: object) -> str:
    """A short hash naming a validation set: the source's identity and the examples' indices, or
    the generated examples themselves. Equal fingerprints mean the same examples."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(np.ascontiguousarray(part).tobytes() if isinstance(part, np.ndarray) else str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
