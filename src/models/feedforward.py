"""Dense networks on feature vectors or images: linear regression, the iris and MNIST MLPs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from src.data.task import InputSpec, accepts_inputs
from src.models.dense import dense_head
from src.models.inputs import task_input

# Keras is imported inside the functions that build: the config checks import this module
# for its declarations, before TensorFlow is imported (see src/models/keras_names.py).
if TYPE_CHECKING:
    import keras


@accepts_inputs("tabular", "images")
def build_feedforward(
    *,
    spec: InputSpec,
    name: str,
    hidden_units: list[int] = (),
    activation: str = "relu",
    kernel_initializer: str = "glorot_uniform",
    init_scale: float | None = None,
) -> keras.Model:
    """(Rescaling(1/255) + Flatten for images) -> Dense(units, activation) per entry of
    `hidden_units` -> the task's output layer. With no hidden units it is a linear
    (or softmax / logistic) regression."""
    import keras

    inputs = task_input(spec)
    x = inputs
    if spec.kind == "images":
        x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(x))
    outputs = dense_head(x, spec, list(hidden_units), activation, kernel_initializer, init_scale)
    return keras.Model(inputs, outputs, name=name)
