"""Dense baselines on token ids: an MLP on the raw ids and a bag-of-words network."""

from __future__ import annotations

import keras

from src.data.task import InputSpec, accepts_inputs
from src.models.inputs import output_layer, task_input


def _dense_stack(x: keras.KerasTensor, hidden_units: list[int], activation: str) -> keras.KerasTensor:
    for units in hidden_units:
        x = keras.layers.Dense(units, activation=activation)(x)
    return x


@accepts_inputs("token_ids")
def build_mlp(
    *, spec: InputSpec, name: str, hidden_units: list[int] = (128, 64), activation: str = "sigmoid"
) -> keras.Model:
    """The course's 3-layer network on padded word ids read as numbers.

    Word ids carry no order or magnitude meaning, so this is a deliberately weak baseline.
    """
    inputs = task_input(spec)
    x = keras.ops.cast(inputs, "float32")
    outputs = output_layer(spec)(_dense_stack(x, list(hidden_units), activation))
    return keras.Model(inputs, outputs, name=name)


@accepts_inputs("token_ids")
def build_dense_bow(
    *, spec: InputSpec, name: str, hidden_units: list[int] = (16, 16), activation: str = "relu"
) -> keras.Model:
    """Multi-hot vector of the words in the (padded) review -> Dense stack -> Dense(1, sigmoid).

    The multi-hot encoding is a layer, so the model takes the same token ids as the RNNs
    and sees the same `data.maxlen` tokens.
    """
    inputs = task_input(spec)
    x = keras.layers.CategoryEncoding(num_tokens=spec.vocab_size, output_mode="multi_hot", name="multi_hot")(inputs)
    outputs = output_layer(spec)(_dense_stack(x, list(hidden_units), activation))
    return keras.Model(inputs, outputs, name=name)
