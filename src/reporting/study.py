"""A sweep's trials as an in-memory Optuna study, so Optuna's importance evaluators and plots read any sweep.

A grid sweep has no Optuna study, and an Optuna sweep's study holds only the parameters Optuna
sampled; the trials table holds every sweep's settings and metrics. Each completed trial becomes a
`optuna.trial.create_trial` with one parameter per setting that varies among them, its
distribution inferred from the values: categorical for words, int or float ranges for numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import optuna
import pandas as pd
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from hydra_plugins.seqsweep_plugins import quiet_loggers
from src.reporting.columns import short_name
from src.reporting.seed_summary import SEED, completed, setting_columns, shown_keys

# fANOVA splits the objective's variance into each parameter's share (Hutter et al., ICML 2014),
# which is the question asked here, and works on a full grid as on sampled trials. PED-ANOVA
# explains only what sets the best trials apart and needs many of them; mean decrease impurity
# favours parameters with many distinct values. Seeded, so a report shows the same numbers twice.
IMPORTANCE_SEED = 0


def importance_evaluator() -> optuna.importance.FanovaImportanceEvaluator:
    return optuna.importance.FanovaImportanceEvaluator(seed=IMPORTANCE_SEED)


def as_study(trials: pd.DataFrame, targets: Sequence[tuple[str, str]]) -> optuna.Study:
    """The completed trials that have every target column, as a study in memory.

    targets: (column of `trials`, "maximize" or "minimize") per objective.
    Parameters are the settings that vary among those trials, by their short names, and the seed
    when it varies: its share of the variance shows how much of the rest is seed noise. A
    setting a trial lacks (a pretrained model's encoder next to a GRU) is left out of that trial.
    """
    quiet_loggers("optuna")  # "A new study created in memory" is not news in a report
    columns = [column for column, _ in targets]
    done = completed(trials).dropna(subset=columns)
    keys = varied_keys(done)
    distributions = {short_name(key): distribution_of(done[key]) for key in keys}
    study = optuna.create_study(directions=[direction for _, direction in targets])
    study.add_trials(
        [
            optuna.trial.create_trial(
                params={short_name(k): _param(row[k], distributions[short_name(k)]) for k in keys if pd.notna(row[k])},
                distributions={short_name(k): distributions[short_name(k)] for k in keys if pd.notna(row[k])},
                values=[float(row[column]) for column in columns],
                user_attrs={"run_name": str(row.get("run_name"))},
            )
            for _, row in done.iterrows()
        ]
    )
    return study


def varied_keys(done: pd.DataFrame) -> list[str]:
    """The trials-table columns of the settings (and seed) that take two or more values in `done`."""
    if done.empty:
        return []
    keys = [*shown_keys(done, setting_columns(done)), *([SEED] if SEED in done else [])]
    return [key for key in keys if done[key].nunique(dropna=True) > 1]


def distribution_of(values: pd.Series) -> BaseDistribution:
    """Categorical for words; otherwise an int or float range over the values seen, on a log scale
    when they span a factor of 10 or more (sizes, learning rates), which is also how the
    parallel-coordinate plot then draws the axis. The seed is a linear int range."""
    present = values.dropna()
    if values.name == SEED and pd.api.types.is_integer_dtype(present):
        # Seeds have no order, but as a categorical Optuna's fANOVA time grows exponentially with
        # their number (measured, 2 models x N seeds: 12 seeds 7 s, 14 seeds 23 s, 20 seeds over
        # 5 minutes); as an int range 400 trials take 4 s. A tree splitting seed ranges still
        # gives seed noise its share of the variance.
        return IntDistribution(int(present.min()), int(present.max()))
    if not pd.api.types.is_numeric_dtype(present) or pd.api.types.is_bool_dtype(present):
        # By type, then in order: 2 before 10 for numbers, alphabetical for words.
        return CategoricalDistribution(sorted({_plain(v) for v in present}, key=lambda v: (type(v).__name__, v)))
    low, high = present.min(), present.max()
    log = bool(low > 0 and high >= 10 * low)
    if pd.api.types.is_integer_dtype(present):
        return IntDistribution(int(low), int(high), log=log)
    return FloatDistribution(float(low), float(high), log=log)


def param_importances(trials: pd.DataFrame, target: str) -> dict[str, float]:
    """Each varied setting's share of the variance of `target` (a trials-table column), by fANOVA."""
    study = as_study(trials, [(target, "maximize")])
    return optuna.importance.get_param_importances(study, evaluator=importance_evaluator())


def _param(value: object, distribution: BaseDistribution) -> object:
    if isinstance(distribution, IntDistribution):
        return int(value)
    if isinstance(distribution, FloatDistribution):
        return float(value)
    return _plain(value)


def _plain(value: object) -> object:
    """numpy scalars as Python ones: Optuna's categorical choices must be None, bool, int, float or str."""
    return value.item() if hasattr(value, "item") else value
