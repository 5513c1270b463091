"""Check a composed config before any training, so a typo fails in seconds, not in trial 17.

`validate_config` raises `ConfigError` with the key, the bad value and what is allowed.
The entry point calls it for a single run; the sweeper calls it for every grid point
before the first trial starts.
"""

from __future__ import annotations

import inspect
from typing import Any

import keras
from hydra.utils import get_method
from omegaconf import DictConfig, OmegaConf

from src.data.task import (
    accepted_input_kinds,
    model_config_check,
    provided_input_kinds,
    size_check,
    wanted_inputs,
)
from src.errors import ConfigError, show
from src.models.initializers import UnscalableInitializer, scaled_initializer


ACTIVATIONS = sorted(
    name
    for name, member in vars(keras.activations).items()
    if inspect.isfunction(member) and not name.startswith("_") and name not in {"get", "serialize", "deserialize"}
)

_POSITIVE_INTS = [
    "model.units", "model.embedding_dim", "model.num_layers", "trainer.epochs", "trainer.batch_size",
    "trainer.eval_batch_size", "model.kernel_size", "data.maxlen", "data.num_words", "data.bits", "data.n_train", "data.n_test",
]
_FRACTIONS = ["model.dropout", "model.recurrent_dropout", "trainer.validation_split"]
# exact_match is logged by data=binary_addition only.
_MONITORABLE = ["loss", "acc", "val_loss", "val_acc", "exact_match", "val_exact_match"]
_CHOICES = {
    "model.activation": ACTIVATIONS,
    "model.recurrent_activation": [None, *ACTIVATIONS],
    "model.output_activation": [None, *ACTIVATIONS],
    "data.truncating": ["pre", "post"],
    "data.padding": ["pre", "post"],
}


def _check_positive_int(key: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ConfigError(key, value, "a whole number > 0")


def _check_fraction(key: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise ConfigError(key, value, "a number in [0, 1)")


def _check_choice(key: str, value: Any, allowed: list) -> None:
    if value not in allowed:
        raise ConfigError(key, value, "one of " + ", ".join(show(a) for a in allowed))


def _check_optimizer(cfg: DictConfig) -> None:
    rate = OmegaConf.select(cfg, "optimizer.learning_rate")
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or rate <= 0:
        raise ConfigError("optimizer.learning_rate", rate, "a number > 0")
    momentum = OmegaConf.select(cfg, "optimizer.momentum")
    if momentum is not None and not 0 <= momentum < 1:
        raise ConfigError("optimizer.momentum", momentum, "a number in [0, 1)")
    clipnorm = OmegaConf.select(cfg, "optimizer.clipnorm")
    if clipnorm is not None and clipnorm <= 0:
        raise ConfigError("optimizer.clipnorm", clipnorm, "null or a number > 0")


def _check_initializers(cfg: DictConfig) -> None:
    """`model.kernel_initializer` / `model.recurrent_initializer` must be Keras initializer
    names and `model.init_scale` null or > 0, on an initializer that has a scale."""
    scale = OmegaConf.select(cfg, "model.init_scale")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0):
        raise ConfigError("model.init_scale", scale, "null (the initializer's default) or a number > 0")
    for key in ("model.kernel_initializer", "model.recurrent_initializer"):
        name = OmegaConf.select(cfg, key, default="<absent>")
        if name == "<absent>":
            continue
        try:
            scaled_initializer(name, scale)
        except UnscalableInitializer as error:
            raise ConfigError(
                "model.init_scale", scale, f"null with {key}={name}, which has no scale (stddev, gain or variance scale)"
            ) from error
        except (ValueError, TypeError) as error:
            raise ConfigError(
                key, name, "a Keras initializer name, e.g. glorot_uniform, glorot_normal, he_normal, random_normal, orthogonal"
            ) from error


def _check_primary_metric(cfg: DictConfig) -> None:
    """A name `model.compile(metrics=[...])` accepts: Keras' own lookup decides, plus the
    compile-only shorthand ``acc`` that Keras resolves per loss (binary or sparse categorical)."""
    name = OmegaConf.select(cfg, "data.primary_metric")
    if name == "acc":
        return
    try:
        keras.metrics.get(name)
    except (ValueError, TypeError) as error:
        raise ConfigError(
            "data.primary_metric", name, "acc or a Keras metric name (e.g. mse, mae, auc) that model.compile accepts"
        ) from error


def _check_model_takes_data(cfg: DictConfig) -> None:
    accepted = accepted_input_kinds(get_method(cfg.model._target_))
    provided = provided_input_kinds(get_method(cfg.data._target_))
    wanted = wanted_inputs(cfg.model)
    # A model that asks for a form gets it if the loader has it; others get the loader's default.
    kind = wanted.kind if wanted is not None else provided[0]
    if kind not in provided or kind not in accepted:
        raise ConfigError(
            "model", cfg.model.name,
            f"data={cfg.data.name} gives {' or '.join(provided)} inputs, but model {cfg.model.name} only takes "
            f"{' or '.join(accepted)}; choose a model whose builder takes {' or '.join(provided)} (see conf/model/)",
        )


def _check_early_stopping(cfg: DictConfig) -> None:
    settings = OmegaConf.select(cfg, "trainer.early_stopping")
    if not settings or not settings.get("enabled"):
        return
    primary = OmegaConf.select(cfg, "data.primary_metric", default="acc")
    monitorable = [*_MONITORABLE, *(name for name in (primary, f"val_{primary}") if name not in _MONITORABLE)]
    _check_choice("trainer.early_stopping.monitor", settings.monitor, monitorable)
    patience = settings.patience
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
        raise ConfigError("trainer.early_stopping.patience", patience, "a whole number >= 0")
    if settings.monitor.startswith("val_") and not cfg.trainer.validation_split:
        raise ConfigError(
            "trainer.early_stopping.monitor", settings.monitor, "a training metric (loss, acc) when trainer.validation_split=0"
        )


def validate_config(cfg: DictConfig) -> None:
    """Raise `ConfigError` for the first value in `cfg` that cannot work."""
    for key in _POSITIVE_INTS:
        _check_positive_int(key, OmegaConf.select(cfg, key))
    for key in _FRACTIONS:
        if OmegaConf.select(cfg, key) is not None or key.startswith("trainer"):
            _check_fraction(key, OmegaConf.select(cfg, key, default=0.0))
    for key, allowed in _CHOICES.items():
        if OmegaConf.select(cfg, key, default="<absent>") != "<absent>":
            _check_choice(key, OmegaConf.select(cfg, key), allowed)
    _check_optimizer(cfg)
    _check_initializers(cfg)
    _check_primary_metric(cfg)
    _check_early_stopping(cfg)
    check_model = model_config_check(get_method(cfg.model._target_))
    if check_model is not None:
        check_model(cfg)
    _check_model_takes_data(cfg)
    check_sizes = size_check(get_method(cfg.data._target_))
    if check_sizes is not None:
        check_sizes(cfg)
