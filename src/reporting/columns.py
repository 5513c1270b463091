"""Accept a column by its trials.csv name or without its `params.`/`metrics.`/`tags.` prefix."""

from __future__ import annotations

import pandas as pd

from src.reporting.errors import ReportError

PREFIXES = ("", "params.", "metrics.", "tags.")


def resolve(table: pd.DataFrame, name: str) -> str:
    """The one column `name` means: `model`, `data.n_train` -> `params.data.n_train`, `test_acc` -> `metrics.test_acc`.

    An exact column wins; otherwise the prefixes are tried in the order params, metrics,
    tags. An unknown name lists the short names that exist.
    """
    for prefix in PREFIXES:
        if prefix + name in table.columns:
            return prefix + name
    available = ", ".join(short_name(c) for c in table.columns)
    raise ReportError(f"unknown column '{name}'; available: {available}")


def short_name(column: str) -> str:
    for prefix in PREFIXES[1:]:
        if column.startswith(prefix):
            return column.removeprefix(prefix)
    return column


def written_names(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with its columns as the files and the console name them: without the `params.`,
    `metrics.`, `tags.` prefix (`data.n_train`, `test_acc`, `hydra_overrides`), the same names as
    the sweep's end table and `--pivot`; a column keeps its prefix only where two would clash."""
    short = [short_name(str(column)) for column in table.columns]
    names = [s if short.count(s) == 1 else str(c) for s, c in zip(short, table.columns)]
    return table.set_axis(names, axis=1)
