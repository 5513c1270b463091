"""Recurrent classifiers: (Embedding) -> stacked, optionally bidirectional RNN -> Dense(1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from src.data.task import InputSpec, accepts_inputs
from src.models.initializers import scaled_initializer
from src.models.inputs import output_layer, task_input

# Keras is imported inside the functions that build: the config checks import this module
# for its declarations, before TensorFlow is imported (see src/models/keras_names.py).
if TYPE_CHECKING:
    import keras


@accepts_inputs("token_ids", "features")
def build_rnn(
    *,
    spec: InputSpec,
    rnn_layer: Callable[..., keras.layers.Layer],
    name: str,
    units: int = 64,
    embedding_dim: int = 128,
    num_layers: int = 1,
    bidirectional: bool = False,
    activation: str = "tanh",
    recurrent_activation: str | None = None,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    unroll: bool = False,
    kernel_initializer: str = "glorot_uniform",
    recurrent_initializer: str = "orthogonal",
    init_scale: float | None = None,
    output_activation: str | None = None,
) -> keras.Model:
    """Embedding(embedding_dim) (for token ids) -> `num_layers` x rnn_layer(units) -> Dense(1, sigmoid).

    `rnn_layer` is the Keras layer class (SimpleRNN, LSTM, GRU) given by the model config;
    `recurrent_activation` applies to gated layers only and is ignored when None.
    `kernel_initializer` (input and output weights) and `recurrent_initializer` are Keras
    initializer names; `init_scale` sets the scale of both (see `scaled_initializer`).
    `output_activation` replaces the task's output activation (sigmoid for binary targets)
    when given: the numpy study applies its one activation to the output as well.
    """
    import keras

    inputs = task_input(spec)
    x = inputs
    if spec.kind == "token_ids":
        x = keras.layers.Embedding(spec.vocab_size, embedding_dim, name="embedding")(x)
    gate_kwargs = {} if recurrent_activation is None else {"recurrent_activation": recurrent_activation}
    for depth in range(num_layers):
        last = depth == num_layers - 1
        layer = rnn_layer(
            units,
            activation=activation,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            unroll=unroll,
            kernel_initializer=scaled_initializer(kernel_initializer, init_scale),
            recurrent_initializer=scaled_initializer(recurrent_initializer, init_scale),
            return_sequences=spec.per_step_targets or not last,
            **gate_kwargs,
        )
        x = keras.layers.Bidirectional(layer)(x) if bidirectional else layer(x)
    outputs = output_layer(spec, scaled_initializer(kernel_initializer, init_scale), output_activation)(x)
    return keras.Model(inputs, outputs, name=name)
