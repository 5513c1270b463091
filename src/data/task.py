"""What a loader hands to the model builders and the trainer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
from hydra.utils import get_method

InputKind = Literal["token_ids", "features", "text", "sentence_embeddings", "tabular", "images"]
TargetKind = Literal["binary", "classes", "real"]


@dataclass(frozen=True)
class InputSpec:
    """Shape of a task's inputs and targets, so builders need no knowledge of the loader.

    kind:
        ``token_ids``: int sequences of length ``sequence_length`` over ``vocab_size`` ids;
        ``features``: float sequences of shape ``(sequence_length, n_features)``;
        ``text``: one raw string per example, for models that embed text themselves;
        ``sentence_embeddings``: one ``n_features``-long vector per example, computed by
        the text encoder named ``encoder``;
        ``tabular``: one ``n_features``-long float vector per example;
        ``images``: one ``image_shape`` (height, width, channels) array per example.
    per_step_targets: one target per time step (sequence labelling) instead of one per
        sequence.
    target: what the model predicts, and so its output layer: ``binary`` one probability
        (sigmoid), ``classes`` one of ``n_classes`` (softmax over integer labels), ``real``
        one unbounded number (regression).
    """

    kind: InputKind
    sequence_length: int | None = None
    vocab_size: int | None = None
    n_features: int | None = None
    per_step_targets: bool = False
    encoder: str | None = None
    image_shape: tuple[int, int, int] | None = None
    target: TargetKind = "binary"
    n_classes: int | None = None


@dataclass(frozen=True)
class InputRequest:
    """The input form a model asks a loader for (a loader that provides several forms).

    encoder: for ``sentence_embeddings``, the text encoder that computes them.
    """

    kind: InputKind
    encoder: str | None = None


@dataclass
class TaskData:
    """Train / validation / test arrays of one trial plus how to train on them.

    `primary_metric` (the data config's key of that name) is the metric that names the
    task's result: it is always among `metrics` (added when the loader does not list it), so Keras logs it as
    ``<primary_metric>``, ``val_<primary_metric>`` and the trainer as ``test_<primary_metric>``.
    """

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
    primary_metric: str = "acc"

    def __post_init__(self) -> None:
        # One place makes sure the named metric is computed, whatever else the loader lists.
        names = [metric if isinstance(metric, str) else getattr(metric, "__name__", None) for metric in self.metrics]
        if self.primary_metric not in names:
            self.metrics = [self.primary_metric, *self.metrics]

    @property
    def sizes(self) -> dict[str, int]:
        return {"n_train": len(self.x_train), "n_val": len(self.x_val), "n_test": len(self.x_test)}


def provides_inputs(*kinds: InputKind, check_sizes: Callable[[Any], None] | None = None) -> Callable:
    """Declare on a loader which input kinds it can give (the first is what it gives unless
    a model asks for another, see `accepts_inputs`) and how to check its size settings
    before training. A loader of several kinds takes an ``inputs: InputRequest | None``
    argument."""

    def mark(loader: Callable) -> Callable:
        loader.input_kinds = kinds
        loader.check_sizes = check_sizes
        return loader

    return mark


def accepts_inputs(
    *kinds: InputKind,
    wants: Callable[..., InputRequest] | None = None,
    check_config: Callable[[Any], None] | None = None,
) -> Callable:
    """Declare on a model builder which input kinds it can take.

    wants: for a builder whose input form depends on its own settings (a pretrained model
        takes raw text or precomputed embeddings depending on its encoder), a function of
        the model config's keys that returns the `InputRequest` the loader should serve.
    check_config: a check of the builder's own settings that must run before any trial
        (raises `ConfigError`), e.g. that a pretrained model's handle can be loaded.
    """

    def mark(builder: Callable) -> Callable:
        builder.input_kinds = kinds
        builder.wants_inputs = wants
        builder.check_config = check_config
        return builder

    return mark


def provided_input_kinds(loader: Callable) -> tuple[InputKind, ...]:
    return loader.input_kinds


def accepted_input_kinds(builder: Callable) -> tuple[InputKind, ...]:
    return builder.input_kinds


def size_check(loader: Callable) -> Callable[[Any], None] | None:
    return loader.check_sizes


def model_config_check(builder: Callable) -> Callable[[Any], None] | None:
    return getattr(builder, "check_config", None)


def wanted_inputs(model_cfg: Any) -> InputRequest | None:
    """The input form the configured model asks for, or None for the loader's default."""
    wants = getattr(get_method(model_cfg["_target_"]), "wants_inputs", None)
    if wants is None:
        return None
    return wants(**{key: value for key, value in model_cfg.items() if not str(key).startswith("_")})
