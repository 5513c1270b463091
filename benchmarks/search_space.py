"""The search space and data of benchmarks/search_efficiency.py, written once and rendered for each tool.

Keys are the project's config keys (Hydra overrides), so a best configuration from any tool
becomes the overrides of its refit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Choice:
    key: str
    values: tuple


@dataclass(frozen=True)
class FloatRange:
    key: str
    low: float
    high: float
    log: bool = False


SPACE = (
    Choice("model", ("simplernn", "lstm", "gru")),
    Choice("model.units", (16, 32, 64, 128)),
    FloatRange("model.dropout", 0.0, 0.5),
    FloatRange("optimizer.learning_rate", 1e-4, 1e-2, log=True),
    Choice("optimizer", ("adam", "rmsprop")),
)
# Config groups among the keys: a tool sets them by picking a composed config, not a value.
GROUP_KEYS = ("model", "optimizer")
MAX_EPOCHS = 4


def data_overrides(source: str, n_train: int, maxlen: int, num_words: int, validation: str = "fixed") -> list[str]:
    """The same data for every method and seed: the training subset is drawn with a fixed
    `trainer.seed`, so only the search itself differs between seeds.

    `validation`: `fixed` (default) validates every trial of every method on the same examples
    outside the training set (the app's fixed set: 2,500 reviews of the full archive), so
    methods that train on different subset sizes are compared on one yardstick; `split` takes
    20% of each trial's training subset, as the peers do by themselves (the benchmark's setting
    before data-size fidelity, kept to reproduce those numbers)."""
    validation_overrides = (
        ["trainer.validation=fixed"] if validation == "fixed" else ["trainer.validation=split", "trainer.validation_split=0.2"]
    )
    return [
        f"data.source={source}",
        f"data.n_train={n_train}",
        f"data.maxlen={maxlen}",
        f"data.num_words={num_words}",
        *validation_overrides,
        f"trainer.epochs={MAX_EPOCHS}",
        "trainer.seed=0",
    ]


def hydra_params() -> dict[str, str]:
    """`hydra.sweeper.params` of the Optuna sweeper (Hydra's sweep grammar)."""
    rendered = {}
    for dim in SPACE:
        if isinstance(dim, Choice):
            rendered[dim.key] = f"choice({', '.join(str(v) for v in dim.values)})"
        else:
            interval = f"interval({dim.low}, {dim.high})"
            rendered[dim.key] = f"tag(log, {interval})" if dim.log else interval
    return rendered


def suggest_optuna(trial: Any) -> dict[str, Any]:
    """One point of the space from an optuna.Trial."""
    return {
        dim.key: trial.suggest_categorical(dim.key, list(dim.values))
        if isinstance(dim, Choice)
        else trial.suggest_float(dim.key, dim.low, dim.high, log=dim.log)
        for dim in SPACE
    }


def suggest_keras_tuner(hp: Any) -> dict[str, Any]:
    """One point of the space from keras_tuner.HyperParameters."""
    return {
        dim.key: hp.Choice(dim.key, list(dim.values))
        if isinstance(dim, Choice)
        else hp.Float(dim.key, dim.low, dim.high, sampling="log" if dim.log else "linear")
        for dim in SPACE
    }
