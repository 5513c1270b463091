"""Check a composed config before any training, so a typo fails in seconds, not in trial 17.

`validate_config` raises `ConfigError` with the key, the bad value and what is allowed.
The entry point calls it for a single run; the sweeper calls it for every grid point
before the first trial starts.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from hydra.utils import get_method
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.seqsweep_plugins import shown
from src.data.task import (
    accepted_input_kinds,
    model_config_check,
    provided_input_kinds,
    size_check,
    wanted_inputs,
)
from src.data.validation_set import ValidationMode
from src.errors import ConfigError
from src.models.keras_names import ACTIVATIONS, INITIALIZERS, METRICS, UNSCALABLE_INITIALIZERS

log = logging.getLogger(__name__)
CONF_DIR = Path(__file__).resolve().parents[1] / "conf"

_POSITIVE_INTS = [
    "model.units",
    "model.embedding_dim",
    "model.num_layers",
    "trainer.epochs",
    "trainer.batch_size",
    "trainer.eval_batch_size",
    "model.kernel_size",
    "data.maxlen",
    "data.num_words",
    "data.bits",
    "data.n_train",
    "data.n_test",
    "trainer.validation_size",
]
_FRACTIONS = ["model.dropout", "model.recurrent_dropout", "trainer.validation_split"]
# exact_match is logged by data=binary_addition only.
_MONITORABLE = ["loss", "acc", "val_loss", "val_acc", "exact_match", "val_exact_match"]
_CHOICES = {
    "model.activation": sorted(ACTIVATIONS),
    "model.recurrent_activation": [None, *sorted(ACTIVATIONS)],
    "model.output_activation": [None, *sorted(ACTIVATIONS)],
    "data.truncating": ["pre", "post"],
    "data.padding": ["pre", "post"],
    "trainer.validation": [mode.value for mode in ValidationMode],
}


def _check_positive_int(key: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ConfigError(key, value, "a whole number > 0")


def _check_fraction(key: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise ConfigError(key, value, "a number in [0, 1)")


def _check_choice(key: str, value: Any, allowed: list) -> None:
    if value not in allowed:
        raise ConfigError(key, value, "one of " + ", ".join(shown(a) for a in allowed))


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
        if not isinstance(name, str) or name not in INITIALIZERS:
            raise ConfigError(
                key, name, "a Keras initializer name, e.g. glorot_uniform, glorot_normal, he_normal, random_normal, orthogonal"
            )
        if scale is not None and name in UNSCALABLE_INITIALIZERS:
            raise ConfigError(
                "model.init_scale", scale, f"null with {key}={name}, which has no scale (stddev, gain or variance scale)"
            )


def _check_primary_metric(cfg: DictConfig) -> None:
    """A name `model.compile(metrics=[...])` accepts: one `keras.metrics.get` knows, plus the
    compile-only shorthand ``acc`` that Keras resolves per loss (binary or sparse categorical)."""
    name = OmegaConf.select(cfg, "data.primary_metric")
    if name != "acc" and (not isinstance(name, str) or name not in METRICS):
        raise ConfigError(
            "data.primary_metric", name, "acc or a Keras metric name (e.g. mse, mae, auc) that model.compile accepts"
        )


def _check_model_takes_data(cfg: DictConfig) -> None:
    accepted = accepted_input_kinds(get_method(cfg.model._target_))
    provided = provided_input_kinds(get_method(cfg.data._target_))
    wanted = wanted_inputs(cfg.model)
    # A model that asks for a form gets it if the loader has it; others get the loader's default.
    kind = wanted.kind if wanted is not None else provided[0]
    if kind not in provided or kind not in accepted:
        raise ConfigError(
            "model",
            cfg.model.name,
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
    if settings.monitor.startswith("val_") and _no_validation(cfg):
        raise ConfigError(
            "trainer.early_stopping.monitor", settings.monitor, "a training metric (loss, acc) when trainer.validation_split=0"
        )


def _check_finite(cfg: DictConfig) -> None:
    """`nan` and `inf` parse as numbers, and most range checks let nan through (every comparison
    with it is false); no setting of ours means anything with them."""
    container = OmegaConf.to_container(cfg, resolve=False)
    container.pop("hydra", None)
    for key, value in _leaves(container):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(key, value, "a finite number")


def _leaves(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every value in nested dicts and lists; list items as `key[i]`."""
    items = node.items() if isinstance(node, dict) else ((f"[{i}]", item) for i, item in enumerate(node))
    for key, value in items:
        path = f"{prefix}{key}" if str(key).startswith("[") else (f"{prefix}.{key}" if prefix else str(key))
        if isinstance(value, (dict, list)):
            yield from _leaves(value, path)
        else:
            yield path, value


def _check_non_negative_ints(cfg: DictConfig) -> None:
    # NumPy's and Keras' seeding refuse negatives and non-integers, after the data was read.
    for key in ("trainer.seed", "trainer.validation_seed", "data.min_val_size"):
        value = OmegaConf.select(cfg, key, default=0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(key, value, "a whole number >= 0")


def _check_num_words(cfg: DictConfig) -> None:
    num_words = OmegaConf.select(cfg, "data.num_words")
    # Ids 0 and 1 are padding and unknown words (src/data/tokenize.py); Keras refuses fewer than
    # 2 tokens, and with exactly 2 every word of every review becomes "unknown". 3 keeps one word.
    if num_words is not None and isinstance(num_words, int) and not isinstance(num_words, bool) and num_words < 3:
        raise ConfigError("data.num_words", num_words, "a whole number >= 3 (ids 0 and 1 are padding and unknown words)")


def _check_experiment_name(cfg: DictConfig) -> None:
    name = OmegaConf.select(cfg, "tracking.experiment_name", default="<absent>")
    if name != "<absent>" and (not isinstance(name, str) or not name.strip()):
        raise ConfigError("tracking.experiment_name", repr(name) if isinstance(name, str) else name, "a non-empty name")


def _check_ui_url(cfg: DictConfig) -> None:
    url = OmegaConf.select(cfg, "tracking.ui_url", default=None)
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        raise ConfigError("tracking.ui_url", url, "null or the http(s):// address where MLflow's UI is served")


def _check_verbose(cfg: DictConfig) -> None:
    verbose = OmegaConf.select(cfg, "trainer.verbose")
    if verbose is not None and (isinstance(verbose, bool) or verbose not in (0, 1, 2)):
        raise ConfigError(
            "trainer.verbose", verbose, "null (automatic), 0 (silent), 1 (progress bar) or 2 (one line per epoch)"
        )


def _check_outage(cfg: DictConfig) -> None:
    outage = OmegaConf.select(cfg, "tracking.outage_s", default=60)
    if isinstance(outage, bool) or not isinstance(outage, (int, float)) or not 0 <= outage < float("inf"):
        raise ConfigError("tracking.outage_s", outage, "a number of seconds >= 0 (0: give up at once)")


def _check_backup(cfg: DictConfig) -> None:
    backup = OmegaConf.select(cfg, "trainer.backup", default=True)
    if not isinstance(backup, bool):
        raise ConfigError("trainer.backup", backup, "true (a lost trial's rerun continues from its last epoch) or false")
    folder = OmegaConf.select(cfg, "trainer.backup_dir", default=None)
    if folder is not None and (not isinstance(folder, str) or not folder.strip()):
        shown = repr(folder) if isinstance(folder, str) else folder
        raise ConfigError(
            "trainer.backup_dir", shown, "null (<sweep dir>/backups) or a folder every node of the cluster reaches"
        )


def _no_validation(cfg: DictConfig) -> bool:
    """`split` mode with nothing held out (a fixed set always has examples: its size is checked)."""
    return OmegaConf.select(cfg, "trainer.validation", default="split") == "split" and not cfg.trainer.validation_split


def _check_validation_split(cfg: DictConfig, objectives: Sequence[str]) -> None:
    """No validation data means no val_* metrics: refused if the sweep optimizes one, warned otherwise."""
    split = OmegaConf.select(cfg, "trainer.validation_split")
    if not _no_validation(cfg):
        return
    needed = [name for name in objectives if name.startswith("val_")]
    if needed:
        raise ConfigError(
            "trainer.validation_split", split, f"a number in (0, 1): the sweep optimizes {needed[0]}, a validation metric"
        )
    _warn_once("trainer.validation_split=0: no validation data, so no val_* metrics are logged")


@cache
def _warn_once(message: str) -> None:
    # A sweep validates every point; the same warning once per process is enough.
    log.warning(message)


def _key_paths(node: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths of every key in a nested dict, a mapping's own path included."""
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        yield path
        if isinstance(value, dict):
            yield from _key_paths(value, path)


@cache
def known_keys(conf_dir: Path = CONF_DIR) -> frozenset[str]:
    """Every key the project's config files define, as dotted paths.

    The rule: a top-level key is known if it names a config group (a folder of conf/) or is
    set in conf/config.yaml; a key inside group G is known if some option of G
    (conf/G/*.yaml) sets it. So `+model.unitz=3` or `+foo.bar=1` is refused, while a key
    that only another option of the group has (`model=gru model.unroll=true`) is accepted.
    Hydra's own `hydra.*` keys (and conf/hydra/, its help page) are Hydra's to check. The `sweeps` presets are global (`# @package
    _global_`): they set keys of the other groups and add none of their own.
    """
    keys: set[str] = set()
    for group in (path for path in conf_dir.iterdir() if path.is_dir() and path.name not in ("sweeps", "hydra")):
        keys.add(group.name)
        for option in group.glob("*.yaml"):
            content = OmegaConf.to_container(OmegaConf.load(option)) or {}
            content.pop("defaults", None)
            keys.update(f"{group.name}.{key}" for key in _key_paths(content))
    primary = OmegaConf.to_container(OmegaConf.load(conf_dir / "config.yaml")) or {}
    for key in ("defaults", "hydra"):
        primary.pop(key, None)
    keys.update(_key_paths(primary))
    return frozenset(keys)


def _check_known_keys(cfg: DictConfig) -> None:
    known = known_keys()
    container = OmegaConf.to_container(cfg, resolve=False)
    container.pop("hydra", None)
    for key in _key_paths(container):
        if key not in known and not _below_a_known_value(cfg, key, known):
            raise _unknown_key(cfg, key, known)


def _below_a_known_value(cfg: DictConfig, key: str, known: frozenset[str]) -> bool:
    """Inside a known key whose value is not a mapping (e.g. null in the YAML) anything goes."""
    parts = key.split(".")
    return any(".".join(parts[:n]) in known and not _is_dict(cfg, ".".join(parts[:n])) for n in range(1, len(parts)))


def _unknown_key(cfg: DictConfig, key: str, known: frozenset[str]) -> ConfigError:
    """The error for `key`, naming the leaf the user typed and the nearest known key (or the
    keys that exist at that level when none is near)."""
    while _is_dict(cfg, key) and OmegaConf.select(cfg, key):
        key = f"{key}.{next(iter(OmegaConf.select(cfg, key)))}"
    return ConfigError(key, OmegaConf.select(cfg, key), unknown_key_advice(key, known))


def unknown_key_advice(key: str, known: frozenset[str]) -> str:
    """What to write instead of the unknown `key`: the nearest known key, or the keys that
    exist at the level where `key` leaves the known ones."""
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    if close:
        hint = f"did you mean {close[0]}?"
    else:
        parts = key.split(".")
        first_unknown = next(n for n in range(1, len(parts) + 1) if ".".join(parts[:n]) not in known)
        parent = ".".join(parts[: first_unknown - 1])
        siblings = sorted(k.rpartition(".")[2] for k in known if k.rpartition(".")[0] == parent)
        hint = f"known keys{' of ' + parent if parent else ''}: {', '.join(siblings)}"
    return f"an unknown key (see conf/); {hint}"


def group_options(group: str, conf_dir: Path = CONF_DIR) -> list[str]:
    """The options of config group `group` (conf/GROUP/*.yaml, `sweeps` for the presets)."""
    return sorted(path.stem for path in (conf_dir / group).glob("*.yaml"))


def _is_dict(cfg: DictConfig, key: str) -> bool:
    return isinstance(OmegaConf.select(cfg, key), DictConfig)


def validate_config(cfg: DictConfig, objectives: Sequence[str] = ()) -> None:
    """Raise `ConfigError` for the first value in `cfg` that cannot work.

    `objectives` are the metrics a sweep optimizes (`val_acc`, ...): a config that cannot
    produce them (no validation split for a val_* metric) is refused.
    """
    _check_known_keys(cfg)
    _check_finite(cfg)
    _check_non_negative_ints(cfg)
    _check_verbose(cfg)
    _check_backup(cfg)
    _check_outage(cfg)
    _check_experiment_name(cfg)
    _check_ui_url(cfg)
    for key in _POSITIVE_INTS:
        _check_positive_int(key, OmegaConf.select(cfg, key))
    for key in _FRACTIONS:
        if OmegaConf.select(cfg, key) is not None or key.startswith("trainer"):
            _check_fraction(key, OmegaConf.select(cfg, key, default=0.0))
    for key, allowed in _CHOICES.items():
        if OmegaConf.select(cfg, key, default="<absent>") != "<absent>":
            _check_choice(key, OmegaConf.select(cfg, key), allowed)
    _check_num_words(cfg)
    _check_validation_split(cfg, objectives)
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
