"""`--pivot rows=model cols=data.n_train value=test_acc [agg=mean]`: one value per cell of two settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from src.reporting.columns import resolve, short_name
from src.reporting.errors import ReportError

AGGREGATIONS = ("mean", "median", "min", "max", "std", "count", "first")


@dataclass(frozen=True)
class PivotSpec:
    rows: list[str]
    cols: list[str]
    value: str
    agg: str = "mean"


def parse_pivot(tokens: Sequence[str]) -> PivotSpec:
    """`["rows=model", "cols=data.n_train", "value=test_acc"]`; rows and cols may list several names with commas."""
    fields: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep or key not in ("rows", "cols", "value", "agg") or not value:
            raise ReportError(
                f"bad --pivot item '{token}'; expected rows=NAME[,NAME] cols=NAME[,NAME] value=NAME [agg={'|'.join(AGGREGATIONS)}]"
            )
        fields[key] = value
    missing = [key for key in ("rows", "cols", "value") if key not in fields]
    if missing:
        raise ReportError(f"--pivot needs {', '.join(f'{k}=...' for k in missing)}")
    agg = fields.get("agg", "mean")
    if agg not in AGGREGATIONS:
        raise ReportError(f"--pivot agg={agg} is not allowed: one of {', '.join(AGGREGATIONS)}")
    return PivotSpec(fields["rows"].split(","), fields["cols"].split(","), fields["value"], agg)


def pivot(trials: pd.DataFrame, spec: PivotSpec) -> pd.DataFrame:
    """Rows x columns table of `agg(value)` over the trials in each cell; cells without a value stay empty.

    Index and column names are the short names asked for (`model`, `data.n_train`).
    """
    rows = [resolve(trials, name) for name in spec.rows]
    cols = [resolve(trials, name) for name in spec.cols]
    value = resolve(trials, spec.value)
    if not pd.api.types.is_numeric_dtype(trials[value]) and spec.agg not in ("count", "first"):
        raise ReportError(f"--pivot value={spec.value} is not numeric; use agg=count or agg=first")
    table = trials.pivot_table(index=rows, columns=cols, values=value, aggfunc=spec.agg, dropna=False, observed=True)
    table.index.names = [short_name(c) for c in rows]
    table.columns.names = [short_name(c) for c in cols]
    return table.sort_index().sort_index(axis=1)
