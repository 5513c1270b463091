"""Sweep against sweep (`python -m src.export --compare A B`): did a change move the results?

Every combination of the settings the sweeps vary that both ran is compared on the test metric:
B minus A, paired by seed where the two share two or more seeds (`scipy.stats.ttest_rel`), else
Welch's interval of two means (`scipy.stats.ttest_ind`), at the Bonferroni level 1 - 0.05/m over
the m combinations with an interval, as in compare.csv. The code commit and the library versions
of the two sweeps are listed where they differ. Sweeps with no combination in common, or that
were validated differently, are refused: their numbers would not answer the question.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from scipy import stats

from src.reporting.columns import short_name
from src.reporting.comparable import FINGERPRINT
from src.reporting.compare import FAMILY_LEVEL
from src.reporting.errors import ReportError
from src.reporting.report import SweepReport
from src.reporting.seed_summary import SEED, completed, setting_columns, shown_keys

# What decides which examples a trial was validated on; two sweeps that differ here are refused.
VALIDATION_SETTINGS = ("params.trainer.validation_split", "params.trainer.validation", "params.trainer.validation_size")
VALIDATION_TAG = FINGERPRINT  # the trials' validation sets must match too
# Where the trials record the code and libraries they ran with (src/tracking/trial_run.py).
PROVENANCE_TAGS = ("mlflow.source.git.commit", "tensorflow_version", "keras_version", "mlflow_version", "python_version")


@dataclass
class SweepComparison:
    table: pd.DataFrame  # one row per shared combination
    provenance: pd.DataFrame  # what differs between the sweeps' code and libraries: item, a, b


def find_sweep(name_or_id: str) -> str:
    """The parent run id of the sweep given by its id or its parent run's name."""
    try:
        run = mlflow.get_run(name_or_id)
        if run.data.tags.get("sweep") == "true":
            return name_or_id
    except mlflow.exceptions.MlflowException:
        pass
    quoted = name_or_id.replace("'", "\\'")
    named = mlflow.search_runs(
        search_all_experiments=True, filter_string=f"tags.sweep = 'true' and attributes.run_name = '{quoted}'"
    )
    if named.empty:
        raise ReportError(f"no sweep named or with id '{name_or_id}' in {mlflow.get_tracking_uri()}")
    if len(named) > 1:
        raise ReportError(
            f"{len(named)} sweeps are named '{name_or_id}'; give one's parent run id: {', '.join(named['run_id'])}"
        )
    return str(named["run_id"].iloc[0])


def compare_sweeps(a: SweepReport, b: SweepReport, names: tuple[str, str] = ("A", "B")) -> SweepComparison:
    """B minus A per shared combination; raises ReportError when they cannot be compared."""
    done_a, done_b = completed(a.trials), completed(b.trials)
    _check_same_validation(done_a, done_b, names)
    keys = _grid_keys(done_a, done_b)
    metric = f"metrics.test_{a.metric}"
    rows = []
    for combination, group_a in done_a.groupby(keys, dropna=False, sort=True):
        combination = combination if isinstance(combination, tuple) else (combination,)
        group_b = done_b
        for key, value in zip(keys, combination):
            group_b = group_b[group_b[key].isna()] if pd.isna(value) else group_b[group_b[key] == value]
        if group_b.empty:
            continue
        rows.append({**{short_name(k): v for k, v in zip(keys, combination)}, **_difference(group_a, group_b, metric)})
    if not rows:
        raise ReportError(
            f"sweeps {names[0]} and {names[1]} have no combination of {', '.join(short_name(k) for k in keys)} in common"
        )
    return SweepComparison(_with_flags(pd.DataFrame(rows)), _provenance(a, b))


def _check_same_validation(done_a: pd.DataFrame, done_b: pd.DataFrame, names: tuple[str, str]) -> None:
    for column in (*VALIDATION_SETTINGS, VALIDATION_TAG):
        seen_a = set(done_a[column].dropna().astype(str)) if column in done_a else set()
        seen_b = set(done_b[column].dropna().astype(str)) if column in done_b else set()
        if seen_a != seen_b:
            raise ReportError(
                f"sweeps {names[0]} and {names[1]} were validated differently: {short_name(column)} "
                f"{', '.join(sorted(seen_a)) or 'unset'} against {', '.join(sorted(seen_b)) or 'unset'}"
            )


def _grid_keys(done_a: pd.DataFrame, done_b: pd.DataFrame) -> list[str]:
    """The settings either sweep varies (the grid), present in both tables."""
    shown = [*shown_keys(done_a, setting_columns(done_a)), *shown_keys(done_b, setting_columns(done_b))]
    varied = [k for k in dict.fromkeys(shown) if k in done_a and k in done_b]
    varied = [k for k in varied if pd.concat([done_a[k], done_b[k]]).nunique(dropna=False) > 1]
    return varied or ["model"]


def _difference(group_a: pd.DataFrame, group_b: pd.DataFrame, metric: str) -> dict:
    per_seed_a = group_a.groupby(SEED)[metric].mean().dropna()
    per_seed_b = group_b.groupby(SEED)[metric].mean().dropna()
    shared = per_seed_a.index.intersection(per_seed_b.index)
    row = {
        "n_a": len(per_seed_a),
        "n_b": len(per_seed_b),
        "n_paired": len(shared),
        "mean_a": float(per_seed_a.mean()),
        "mean_b": float(per_seed_b.mean()),
        "mean_diff": float(per_seed_b.mean() - per_seed_a.mean()),
        "_paired": (per_seed_b.loc[shared].to_numpy(float), per_seed_a.loc[shared].to_numpy(float)),
        "_values": (per_seed_b.to_numpy(float), per_seed_a.to_numpy(float)),
    }
    if len(shared) >= 2:
        row["test"] = "paired"
        row["mean_diff"] = float(np.mean(row["_paired"][0] - row["_paired"][1]))
    elif len(per_seed_a) >= 2 and len(per_seed_b) >= 2:
        row["test"] = "welch"
    else:
        row["test"] = ""
    return row


def _with_flags(table: pd.DataFrame) -> pd.DataFrame:
    tested = table["test"] != ""
    m = max(int(tested.sum()), 1)
    level = 1 - (1 - FAMILY_LEVEL) / m
    lows, highs = [], []
    for _, row in table.iterrows():
        if row["test"] == "paired":
            interval = stats.ttest_rel(*row["_paired"]).confidence_interval(level)
        elif row["test"] == "welch":
            interval = stats.ttest_ind(*row["_values"], equal_var=False).confidence_interval(level)
        else:
            interval = (np.nan, np.nan)
        lows.append(float(interval[0]))
        highs.append(float(interval[1]))
    table["ci_low"], table["ci_high"], table["level"] = lows, highs, level
    table["beyond_seed_noise"] = tested & ((table["ci_low"] > 0) | (table["ci_high"] < 0))
    return table.drop(columns=["_paired", "_values"])


def _provenance(a: SweepReport, b: SweepReport) -> pd.DataFrame:
    runs_a, runs_b = _child_runs(a.parent_run_id), _child_runs(b.parent_run_id)
    rows = []
    for tag in PROVENANCE_TAGS:
        seen_a, seen_b = _tag_values(runs_a, tag), _tag_values(runs_b, tag)
        if seen_a != seen_b:
            rows.append({"item": tag.removeprefix("mlflow.source.git."), "a": seen_a, "b": seen_b})
    return pd.DataFrame(rows, columns=["item", "a", "b"])


def _child_runs(parent_run_id: str) -> pd.DataFrame:
    return mlflow.search_runs(search_all_experiments=True, filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'")


def _tag_values(runs: pd.DataFrame, tag: str) -> str:
    column = f"tags.{tag}"
    return " ".join(sorted(set(runs[column].dropna().astype(str)))) if column in runs else ""
