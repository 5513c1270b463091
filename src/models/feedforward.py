"""Dense networks on feature vectors or images: linear regression, the iris and MNIST MLPs."""

from __future__ import annotations

import keras

from src.data.task import InputSpec, accepts_inputs
from src.models.dense import dense_head
from src.models.inputs import task_input


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
    inputs = task_input(spec)
    x = inputs
    if spec.kind == "images":
        x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(x))
    outputs = dense_head(x, spec, list(hidden_units), activation, kernel_initializer, init_scale)
    return keras.Model(inputs, outputs, name=name)
