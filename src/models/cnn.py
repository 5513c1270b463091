"""A small convolutional classifier for images (the course's MNIST and CIFAR-10 CNNs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from src.data.task import InputSpec, accepts_inputs
from src.models.dense import dense_head
from src.models.initializers import scaled_initializer
from src.models.inputs import task_input

# Keras is imported inside the functions that build: the config checks import this module
# for its declarations, before TensorFlow is imported (see src/models/keras_names.py).
if TYPE_CHECKING:
    import keras


@accepts_inputs("images")
def build_cnn(
    *,
    spec: InputSpec,
    name: str,
    filters: list[int] = (32, 64),
    kernel_size: int = 3,
    hidden_units: list[int] = (128,),
    activation: str = "relu",
    dropout: float = 0.0,
    kernel_initializer: str = "glorot_uniform",
    init_scale: float | None = None,
) -> keras.Model:
    """Rescaling(1/255) -> [Conv2D(f, kernel_size, activation) -> MaxPooling2D] per entry of
    `filters` -> Flatten -> Dropout -> Dense(units, activation) per `hidden_units` -> softmax."""
    import keras

    inputs = task_input(spec)
    x = keras.layers.Rescaling(1 / 255)(inputs)
    for count in filters:
        x = keras.layers.Conv2D(
            count,
            kernel_size,
            activation=activation,
            padding="same",
            kernel_initializer=scaled_initializer(kernel_initializer, init_scale),
        )(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Dropout(dropout)(keras.layers.Flatten()(x))
    outputs = dense_head(x, spec, list(hidden_units), activation, kernel_initializer, init_scale)
    return keras.Model(inputs, outputs, name=name)
