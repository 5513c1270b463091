"""The sweep's answer as a Markdown table, for the parent run's description (MLflow's overview page).

MLflow shows a run's description (the `mlflow.note.content` tag) as Markdown on its overview
page, the first thing a user sees when opening the sweep's parent run.
"""

from __future__ import annotations

import pandas as pd

from hydra_plugins.seqsweep_plugins import significant
from src.reporting.columns import short_name
from src.reporting.comparable import FINGERPRINT, SIZE
from src.reporting.report import SweepReport
from src.reporting.seed_summary import group_keys


def result_markdown(report: SweepReport) -> str:
    """`result_table` as Markdown, under a title line, with a note where an interval is missing."""
    table = result_table(report)
    test = f"test_{report.metric}"
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table.itertuples(index=False)]
    title = f"**Result of this sweep** ({len(report.trials)} trials): {test} on the test set, mean over seeds"
    notes = [validation_note(report.trials, f"val_{report.metric}")]
    if (report.summary["count"] < 2).any():
        notes.append("A combination with one completed trial has no interval: sweep `trainer.seed=1,2,3` for them.")
    notes.append("`python -m src.export --out results/` writes the tables and plots of this sweep.")
    return "\n".join([title, "", *lines, "", *notes])


def result_table(report: SweepReport) -> pd.DataFrame:
    """The sweep's answer as text cells, one row per combination of the varied settings: n
    (completed trials), the test metric's mean and 95% interval over seeds, and the validation
    metric's mean. The parent run's description and report.html show this same table."""
    summary = report.summary
    keys = group_keys(summary)
    test, val = f"test_{report.metric}", f"val_{report.metric}"
    header = [*(short_name(k) for k in keys), "n", f"{test} mean [95% interval]", f"{val} mean"]
    rows = [
        [_cell(row[k]) for k in keys] + [str(int(row["count"])), _interval(row, test), _cell(row.get(f"{val}_mean"))]
        for _, row in summary.iterrows()
    ]
    return pd.DataFrame(rows, columns=header, dtype=object)


def validation_note(trials: pd.DataFrame, val: str) -> str:
    """What `val` was measured on: one set for every trial (its size), or several."""
    sizes = pd.to_numeric(trials.get(SIZE, pd.Series(dtype=float)), errors="coerce").dropna()
    sets = trials.get(FINGERPRINT, pd.Series(dtype=object)).dropna()
    if sets.nunique() == 1 and sizes.nunique() == 1:
        return f"Every trial's {val} was measured on the same {int(sizes.iloc[0])} validation examples (`validation_fingerprint` {sets.iloc[0]})."
    if len(sizes):
        return (
            f"The trials' {val} were measured on different validation sets ({int(sizes.min())} to {int(sizes.max())} "
            "examples): compare them with care, or sweep with `trainer.validation=fixed`."
        )
    return f"No trial recorded its validation set's size; {val} may not be comparable between trials."


def _interval(row: pd.Series, metric: str) -> str:
    mean, low, high = row.get(f"{metric}_mean"), row.get(f"{metric}_ci95_low"), row.get(f"{metric}_ci95_high")
    if pd.isna(mean):
        return ""
    if pd.isna(low) or pd.isna(high):
        return significant(float(mean))
    return f"{significant(float(mean))} [{significant(float(low))}, {significant(float(high))}]"


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return significant(value) if isinstance(value, float) and not float(value).is_integer() else str(value)
