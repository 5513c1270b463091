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

from typing import TYPE_CHECKING, Any

from omegaconf import ListConfig

from src.data.task import InputRequest, InputSpec, accepts_inputs
from src.errors import ConfigError
from src.models.inputs import output_layer

if TYPE_CHECKING:
    import keras

DEFAULT_HANDLE = "https://tfhub.dev/google/nnlm-en-dim50/2"
ENCODER_INPUTS = {
    "hub": InputRequest("text"),
    "use_multilingual": InputRequest("sentence_embeddings", encoder="use_multilingual"),
}
_LOCAL_COPY_HINT = (
    "give a TF-Hub URL that this machine can download, or point at a local copy with "
    "model.handle=/path/to/savedmodel (the folder holding saved_model.pb)"
)


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
    from src.models.hub_encoder import HubHandleError, resolve_handle  # TensorFlow: only a hub handle needs it

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
    import keras

    from src.models.hub_encoder import HubTextEncoder

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
