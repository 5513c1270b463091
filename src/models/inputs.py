"""Input layers shared by the builders, chosen by the task's `InputSpec`."""

from __future__ import annotations

import keras

from src.data.task import InputSpec


def sequence_input(spec: InputSpec) -> keras.KerasTensor:
    """A `keras.Input` matching the task's inputs."""
    if spec.kind == "token_ids":
        return keras.Input(shape=(spec.sequence_length,), dtype="int32", name="token_ids")
    return keras.Input(shape=(spec.sequence_length, spec.n_features), dtype="float32", name="features")


def sigmoid_output() -> keras.layers.Layer:
    """One sigmoid unit; on a sequence (per-step targets) Dense applies to every step."""
    return keras.layers.Dense(1, activation="sigmoid", name="output")
