"""A pretrained text encoder followed by a small dense head (the course's TF-Hub model).

Two encoders, chosen by `model.encoder`:

``hub``
    A TF-Hub text embedding (`tensorflow_hub.KerasLayer`) that takes the raw review
    strings, loaded from a URL (downloaded into TF-Hub's cache, `TFHUB_CACHE_DIR`) or a
    local SavedModel folder. Fine-tuned with the head unless `trainable=false`.
``use_multilingual``
    Universal-sentence-encoder-multilingual v3 (`src.data.sentence_encoders`): frozen,
    so the data layer encodes every review once, caches the vectors on disk, and the
    model is only the head on those vectors. Works offline.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf
from omegaconf import ListConfig

from src.data.task import InputRequest, InputSpec, accepts_inputs
from src.errors import ConfigError
from src.models.inputs import output_layer

DEFAULT_HANDLE = "https://tfhub.dev/google/nnlm-en-dim50/2"
# Seconds any one network step of a TF-Hub download may stall; without a limit a
# machine without internet can hang on a URL handle instead of failing.
HUB_SOCKET_TIMEOUT_S = 10
ENCODER_INPUTS = {
    "hub": InputRequest("text"),
    "use_multilingual": InputRequest("sentence_embeddings", encoder="use_multilingual"),
}
_LOCAL_COPY_HINT = (
    "give a TF-Hub URL that this machine can download, or point at a local copy with "
    "model.handle=/path/to/savedmodel (the folder holding saved_model.pb)"
)


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


def pretrained_inputs(*, encoder: str, **_: Any) -> InputRequest:
    """What the data layer hands this model: raw text for `hub`, cached vectors otherwise."""
    return ENCODER_INPUTS[encoder]


def check_pretrained_config(cfg: Any) -> None:
    """Refuse settings that cannot work, before any trial (a bad handle in seconds)."""
    model = cfg.model
    if model.encoder not in ENCODER_INPUTS:
        raise ConfigError("model.encoder", model.encoder, "one of " + ", ".join(ENCODER_INPUTS))
    hidden_units = model.get("hidden_units")
    if not isinstance(hidden_units, (list, tuple, ListConfig)) or any(
        isinstance(units, bool) or not isinstance(units, int) or units <= 0 for units in hidden_units
    ):
        raise ConfigError("model.hidden_units", hidden_units, "a list of whole numbers > 0, e.g. [16]")
    trainable = model.get("trainable")
    if trainable not in (None, True, False):
        raise ConfigError("model.trainable", trainable, "null, true or false")
    if model.encoder != "hub":
        if trainable:
            raise ConfigError(
                "model.trainable",
                trainable,
                f"null or false with model.encoder={model.encoder}: its vectors are computed once and "
                "cached, so it is frozen; fine-tuning needs model.encoder=hub",
            )
        return
    handle = model.get("handle")
    if not isinstance(handle, str) or not handle.strip():
        raise ConfigError("model.handle", handle, _LOCAL_COPY_HINT)
    try:
        resolve_handle(handle)
    except HubHandleError as error:
        raise ConfigError("model.handle", handle, " ".join(f"{error}; {_LOCAL_COPY_HINT}".split())) from error


@accepts_inputs("text", "sentence_embeddings", wants=pretrained_inputs, check_config=check_pretrained_config)
def build_pretrained(
    *,
    spec: InputSpec,
    name: str,
    encoder: str,
    handle: str = DEFAULT_HANDLE,
    trainable: bool | None = None,
    hidden_units: list[int] = (16,),
    activation: str = "relu",
) -> keras.Model:
    """Encoder -> Dense(units, activation) per entry of `hidden_units` -> Dense(1, sigmoid).

    With raw text (`encoder="hub"`) the model starts with the TF-Hub layer, fine-tuned
    unless `trainable` is False; with precomputed sentence embeddings it starts from the
    vectors, and `handle` and `trainable` do not apply.
    """
    if spec.kind == "text":
        inputs = keras.Input(shape=(), dtype="string", name="text")
        x = HubTextEncoder(handle, trainable=trainable is not False, name="hub_encoder")(inputs)
    elif spec.kind == "sentence_embeddings":
        inputs = keras.Input(shape=(spec.n_features,), dtype="float32", name=f"{spec.encoder}_embedding")
        x = inputs
    else:
        raise ValueError(f"encoder {encoder!r} needs text or sentence embeddings, not {spec.kind}")
    for units in hidden_units:
        x = keras.layers.Dense(units, activation=activation)(x)
    outputs = output_layer(spec)(x)
    return keras.Model(inputs, outputs, name=name)
