"""The TF-Hub text encoder as a Keras 3 layer, and where a TF-Hub handle's SavedModel lies.

Kept apart from `src.models.pretrained` because defining a Keras layer class imports Keras
and TensorFlow: the pretrained model's declarations and config checks are read by the config
checks, which answer a mistake before TensorFlow is imported.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

# Seconds any one network step of a TF-Hub download may stall; without a limit a
# machine without internet can hang on a URL handle instead of failing.
HUB_SOCKET_TIMEOUT_S = 10


class HubHandleError(RuntimeError):
    """A TF-Hub handle that does not lead to a SavedModel."""


def resolve_handle(handle: str) -> str:
    """The local SavedModel folder behind `handle`: the folder itself, or TF-Hub's cached
    download of a URL (fetched on first use; `TFHUB_CACHE_DIR` sets the cache folder)."""
    if "://" in handle:
        import tensorflow_hub as hub

        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(HUB_SOCKET_TIMEOUT_S)
        try:
            path = hub.resolve(handle)
        except Exception as error:  # urllib, HTTP and tf.io errors alike: all mean "not reachable"
            raise HubHandleError(f"cannot be downloaded ({type(error).__name__}: {error})") from error
        finally:
            socket.setdefaulttimeout(previous)
    else:
        path = str(Path(handle).expanduser().resolve())
        if not Path(path).exists():
            raise HubHandleError(f"{path} does not exist")
    if not tf.saved_model.contains_saved_model(path):
        raise HubHandleError(f"{path} holds no SavedModel (saved_model.pb)")
    return path


class HubTextEncoder(keras.layers.Layer):
    """`hub.KerasLayer` inside a Keras 3 model: raw strings in, one vector per string out.

    `hub.KerasLayer` is a tf_keras (Keras 2) layer, which a Keras 3 model refuses, and
    Keras 3 trains only variables it tracks. This layer calls the hub layer and tracks
    the SavedModel's variables as its own weights: the very `tf.Variable` objects the
    SavedModel's function reads, so fitting with `trainable=True` updates the encoder
    (as `keras.layers.TFSMLayer` does for SavedModels). TensorFlow backend only.

    The SavedModel must be callable on a batch of strings (TF-Hub's reusable SavedModel
    format, as nnlm-en-dim50/2). Its regularization losses, if any, are not added.
    """

    def __init__(self, handle: str, trainable: bool = True, **kwargs: Any) -> None:
        super().__init__(trainable=trainable, **kwargs)
        import tensorflow_hub as hub

        self.handle = handle
        loaded = hub.load(resolve_handle(handle))
        if not callable(loaded):
            raise HubHandleError(
                f"model.handle={handle} is not callable on strings (a TF1 Hub module or signature-only SavedModel)"
            )
        _declare_variables(loaded)
        self.hub_layer = hub.KerasLayer(loaded, trainable=trainable)
        trained = {id(variable) for variable in self.hub_layer.trainable_weights}
        for variable in self.hub_layer.weights:
            self._track_variable(
                keras.Variable(
                    initializer=variable,  # wraps, does not copy, the tf.Variable (TensorFlow backend)
                    trainable=id(variable) in trained,
                    dtype=variable.dtype,
                    shape=variable.shape,
                    name=variable.name.split(":")[0].replace("/", "_"),  # Keras names take no slashes
                )
            )
        self.built = True

    def call(self, texts: tf.Tensor) -> tf.Tensor:
        return self.hub_layer(texts)


def _declare_variables(loaded: Any) -> None:
    """Give a SavedModel that does not list its variables (a plain exported `tf.Module`)
    the `variables` / `trainable_variables` attributes of TF-Hub's reusable SavedModel API,
    from the variables its call function reads, so `hub.KerasLayer` sees its weights."""
    if hasattr(loaded, "variables"):
        return
    captured: dict[int, tf.Variable] = {}
    for function in loaded.__call__.concrete_functions:
        for variable in function.variables:
            captured.setdefault(id(variable), variable)
    loaded.variables = list(captured.values())
    loaded.trainable_variables = [variable for variable in captured.values() if variable.trainable]
