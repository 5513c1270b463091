"""What a loader hands to the model builders and the trainer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np


@dataclass(frozen=True)
class InputSpec:
    """Shape of a task's inputs and targets, so builders need no knowledge of the loader.

    kind:
        ``token_ids``: int sequences of length ``sequence_length`` over ``vocab_size`` ids;
        ``features``: float sequences of shape ``(sequence_length, n_features)``.
    per_step_targets: one target per time step (sequence labelling) instead of one per
        sequence.
    """

    kind: Literal["token_ids", "features"]
    sequence_length: int
    vocab_size: int | None = None
    n_features: int | None = None
    per_step_targets: bool = False


@dataclass
class TaskData:
    """Train / validation / test arrays of one trial plus how to train on them."""

    name: str
    spec: InputSpec
    loss: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    metrics: list[Any] = field(default_factory=lambda: ["acc"])
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def sizes(self) -> dict[str, int]:
        return {"n_train": len(self.x_train), "n_val": len(self.x_val), "n_test": len(self.x_test)}


InputKind = Literal["token_ids", "features"]


def provides_inputs(kind: InputKind, check_sizes: Callable[[Any], None] | None = None) -> Callable:
    """Declare on a loader which input kind it gives and how to check its size settings before training."""

    def mark(loader: Callable) -> Callable:
        loader.input_kind = kind
        loader.check_sizes = check_sizes
        return loader

    return mark


def accepts_inputs(*kinds: InputKind) -> Callable:
    """Declare on a model builder which input kinds it can take."""

    def mark(builder: Callable) -> Callable:
        builder.input_kinds = kinds
        return builder

    return mark


def provided_input_kind(loader: Callable) -> InputKind:
    return loader.input_kind


def accepted_input_kinds(builder: Callable) -> tuple[InputKind, ...]:
    return builder.input_kinds


def size_check(loader: Callable) -> Callable[[Any], None] | None:
    return loader.check_sizes
