"""What a logged metric means in a report: its unit, its bounds, which way is better, how to round it.

Every rounding, bound and axis label of the exports comes from `kind_of`, so a metric reads
the same in trials.csv, summary.csv and the plots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

# The task's own headline metric is the MLflow param `data.primary_metric`; runs logged before
# it existed are IMDB runs, whose headline is accuracy.
PRIMARY_METRIC_PARAM = "params.data.primary_metric"
DEFAULT_PRIMARY_METRIC = "acc"


@dataclass(frozen=True)
class MetricKind:
    """How to show one metric.

    decimals: fixed decimals to keep (4 for a fraction, 2 for seconds and milliseconds, 0 for
        counts), or None for 4 significant digits (losses, whose scale varies by task).
    bounds: the values the metric can take; confidence intervals are clipped to them.
    """

    label: str
    decimals: int | None
    bounds: tuple[float, float] = (0.0, math.inf)
    higher_is_better: bool | None = None


FRACTION = MetricKind("fraction correct", decimals=4, bounds=(0.0, 1.0), higher_is_better=True)
ERROR = MetricKind("lower is better", decimals=None, higher_is_better=False)
SECONDS = MetricKind("s", decimals=2, higher_is_better=False)
MILLISECONDS = MetricKind("ms", decimals=2, higher_is_better=False)
COUNT = MetricKind("count", decimals=0)

# By the name without its test_/val_ prefix.
_KINDS = {
    "acc": FRACTION,
    "exact_match": FRACTION,
    "loss": ERROR,
    "mse": ERROR,
    "ms_per_step": MILLISECONDS,
    "inference_ms_per_sample": MILLISECONDS,
    "n_params": COUNT,
    "epochs_run": COUNT,
    "n_train": COUNT,
    "n_val": COUNT,
    "n_test": COUNT,
}
_NAMES = {"acc": "accuracy", "exact_match": "exact match", "mse": "mean squared error", "loss": "loss"}


def base_name(metric: str) -> str:
    """`metrics.val_acc` -> `acc`: the metric without its column prefix and split."""
    name = metric.removeprefix("metrics.")
    for split in ("test_", "val_"):
        name = name.removeprefix(split)
    return name


def kind_of(metric: str) -> MetricKind:
    name = base_name(metric)
    if name.endswith("_seconds"):
        return SECONDS
    return _KINDS.get(name, ERROR if name.endswith(("loss", "error")) else MetricKind("", decimals=None))


def axis_label(metric: str) -> str:
    """`test_acc` -> `test accuracy (fraction correct)`."""
    plain = metric.removeprefix("metrics.")
    split = next((s for s in ("test", "val") if plain.startswith(s + "_")), "")
    words = _NAMES.get(base_name(plain), base_name(plain).replace("_", " "))
    split_word = {"test": "test ", "val": "validation ", "": ""}[split]
    unit = kind_of(plain).label
    return f"{split_word}{words}" + (f" ({unit})" if unit else "")


def round_values(metric: str, values: pd.Series, statistic: bool = False) -> pd.Series:
    """`values` rounded to what the metric means: 4 decimals of a fraction, 2 of a time, whole counts,
    4 significant digits otherwise. Float32 noise (0.7799999713897705) goes; missing stays missing.

    statistic: the values are means or spreads over trials, so counts keep 2 decimals.
    """
    numbers = pd.to_numeric(values, errors="coerce")
    decimals = kind_of(metric).decimals
    if decimals == 0:
        return numbers.round(2) if statistic else numbers.round().astype("Int64")
    if decimals is not None:
        return numbers.round(decimals)
    return numbers.map(_significant, na_action="ignore").astype(float)


def _significant(value: float, digits: int = 4) -> float:
    if not np.isfinite(value) or value == 0:
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def primary_metric(trials: pd.DataFrame) -> str:
    """The sweep's headline metric name (`acc`, `mse`), from its trials' `data.primary_metric` param."""
    if PRIMARY_METRIC_PARAM not in trials.columns:
        return DEFAULT_PRIMARY_METRIC
    named = trials[PRIMARY_METRIC_PARAM].dropna()
    return str(named.mode().iloc[0]) if not named.empty else DEFAULT_PRIMARY_METRIC
