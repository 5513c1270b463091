"""Input and output layers shared by the builders, chosen by the task's `InputSpec`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from src.data.task import InputSpec

# Keras is imported inside the functions that build: the config checks import this module
# for its declarations, before TensorFlow is imported (see src/models/keras_names.py).
if TYPE_CHECKING:
    import keras


def task_input(spec: InputSpec) -> keras.KerasTensor:
    """A `keras.Input` matching the task's inputs (token ids, feature sequences or vectors, images)."""
    import keras

    if spec.kind == "token_ids":
        return keras.Input(shape=(spec.sequence_length,), dtype="int32", name="token_ids")
    if spec.kind == "tabular":
        return keras.Input(shape=(spec.n_features,), dtype="float32", name="features")
    if spec.kind == "images":
        # Loaders hand images as stored (uint8); the builders rescale them in the model.
        return keras.Input(shape=spec.image_shape, dtype="float32", name="images")
    return keras.Input(shape=(spec.sequence_length, spec.n_features), dtype="float32", name="features")


def output_layer(
    spec: InputSpec,
    kernel_initializer: keras.initializers.Initializer | str = "glorot_uniform",
    activation: str | None = None,
) -> keras.layers.Layer:
    """The head the task's targets need: one sigmoid unit (binary), a softmax over
    `n_classes` (integer class labels) or one linear unit (regression); `activation`
    replaces the head's own (a study of one activation everywhere). On a sequence with
    per-step targets Dense applies to every step."""
    import keras

    units, head_activation = {
        "binary": (1, "sigmoid"),
        "classes": (spec.n_classes, "softmax"),
        "real": (1, None),
    }[spec.target]
    return keras.layers.Dense(
        units, activation=activation or head_activation, kernel_initializer=kernel_initializer, name="output"
    )
