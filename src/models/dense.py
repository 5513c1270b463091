"""Dense baselines on token ids: an MLP on the raw ids and a bag-of-words network."""

from __future__ import annotations

from typing import TYPE_CHECKING

from src.data.task import InputSpec, accepts_inputs
from src.models.initializers import scaled_initializer
from src.models.inputs import output_layer, task_input

# Keras is imported inside the functions that build: the config checks import this module
# for its declarations, before TensorFlow is imported (see src/models/keras_names.py).
if TYPE_CHECKING:
    import keras


def dense_head(
    x: keras.KerasTensor,
    spec: InputSpec,
    hidden_units: list[int],
    activation: str,
    kernel_initializer: str = "glorot_uniform",
    init_scale: float | None = None,
) -> keras.KerasTensor:
    """`Dense(units, activation)` per entry of `hidden_units`, then the task's output layer,
    every kernel drawn from `kernel_initializer` at `init_scale` (see `scaled_initializer`)."""
    import keras

    for units in hidden_units:
        x = keras.layers.Dense(
            units, activation=activation, kernel_initializer=scaled_initializer(kernel_initializer, init_scale)
        )(x)
    return output_layer(spec, scaled_initializer(kernel_initializer, init_scale))(x)


@accepts_inputs("token_ids")
def build_mlp(
    *,
    spec: InputSpec,
    name: str,
    hidden_units: list[int] = (128, 64),
    activation: str = "sigmoid",
    kernel_initializer: str = "glorot_uniform",
    init_scale: float | None = None,
) -> keras.Model:
    """The course's 3-layer network on padded word ids read as numbers.

    Word ids carry no order or magnitude meaning, so this is a deliberately weak baseline.
    """
    import keras

    inputs = task_input(spec)
    x = keras.ops.cast(inputs, "float32")
    outputs = dense_head(x, spec, list(hidden_units), activation, kernel_initializer, init_scale)
    return keras.Model(inputs, outputs, name=name)


@accepts_inputs("token_ids")
def build_dense_bow(
    *,
    spec: InputSpec,
    name: str,
    hidden_units: list[int] = (16, 16),
    activation: str = "relu",
    kernel_initializer: str = "glorot_uniform",
    init_scale: float | None = None,
) -> keras.Model:
    """Multi-hot vector of the words in the (padded) review -> Dense stack -> Dense(1, sigmoid).

    The multi-hot encoding is a layer, so the model takes the same token ids as the RNNs
    and sees the same `data.maxlen` tokens.
    """
    import keras

    inputs = task_input(spec)
    x = keras.layers.CategoryEncoding(num_tokens=spec.vocab_size, output_mode="multi_hot", name="multi_hot")(inputs)
    outputs = dense_head(x, spec, list(hidden_units), activation, kernel_initializer, init_scale)
    return keras.Model(inputs, outputs, name=name)
