"""A sweep's report files: trials.csv, summary.csv, pivot.csv and the PNG plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hydra_plugins.seqsweep_plugins import mask_secrets
from src.reporting import plots
from src.reporting.columns import written_names
from src.reporting.compare import paired_comparisons
from src.reporting.metrics import primary_metric, round_values
from src.reporting.pivot import PivotSpec, pivot
from src.reporting.runs import metric_histories, sweep_objectives, sweep_trials
from src.reporting.seed_summary import seed_summary
from src.reporting.trials import tidy_trials


@dataclass
class SweepReport:
    parent_run_id: str
    metric: str  # the sweep's primary metric: acc, mse
    trials: pd.DataFrame
    summary: pd.DataFrame
    val_history: pd.DataFrame  # run_id, step (epoch), val_<metric>
    # What the sweeper optimized, as (metric, maximize|minimize); empty for sweeps logged before
    # the parent run recorded it.
    objectives: list[tuple[str, str]] = field(default_factory=list)


def load_sweep(parent_run_id: str, experiment_name: str | None = None) -> SweepReport:
    """Read the sweep's trials from the current MLflow store and summarize them."""
    trials = tidy_trials(sweep_trials(parent_run_id, experiment_name))
    metric = primary_metric(trials)
    history = metric_histories(list(trials["run_id"]), f"val_{metric}")
    return SweepReport(parent_run_id, metric, trials, seed_summary(trials), history, sweep_objectives(parent_run_id))


def _masked(table: pd.DataFrame) -> pd.DataFrame:
    """Params and tags may hold store URLs (tracking_uri, hydra_overrides); no password leaves in a file."""
    return table.map(lambda value: mask_secrets(value) if isinstance(value, str) else value)


def write_tables(report: SweepReport, out_dir: Path, pivot_spec: PivotSpec | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "trials.csv", out_dir / "summary.csv"]
    _masked(written_names(report.trials)).to_csv(written[0], index=False)
    _masked(written_names(report.summary)).to_csv(written[1], index=False)
    if pivot_spec is not None:
        written.append(out_dir / "pivot.csv")
        _masked(_keyed_columns(pivot(report.trials, pivot_spec))).to_csv(written[-1])
    return written


def _keyed_columns(table: pd.DataFrame) -> pd.DataFrame:
    """A pivot's column headers name their key (`data.n_train=100`): a CSV keeps one header row,
    which on its own would read `model,10,100` and lose what 10 and 100 are."""
    keys = list(table.columns.names)
    values = [value if isinstance(value, tuple) else (value,) for value in table.columns]
    flat = [" ".join(f"{key}={value}" for key, value in zip(keys, value)) for value in values]
    return table.set_axis(flat, axis=1)


def comparison_table(report: SweepReport) -> tuple[pd.DataFrame | None, str | None]:
    """`compare.paired_comparisons` on the test metric, rounded and masked, when some pair of
    values shares two or more seeds; else None and why (compare.csv and report.html show both)."""
    metric = f"test_{report.metric}"
    table = paired_comparisons(report.trials, metric)
    if table.empty or not (table["n"] >= 2).any():
        return None, "no two values of a setting share 2 or more seeds (sweep trainer.seed to compare)"
    for column in ("mean_diff", "ci_low", "ci_high"):
        table[column] = round_values(metric, table[column], statistic=True)
    return _masked(table), None


def write_comparisons(report: SweepReport, out_dir: Path) -> tuple[list[Path], list[str]]:
    """compare.csv (see `comparison_table`), or a line saying why it is left out."""
    table, why_not = comparison_table(report)
    if table is None:
        return [], [f"compare.csv: {why_not}"]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "compare.csv"
    table.to_csv(path, index=False)
    return [path], []


def write_plots(report: SweepReport, out_dir: Path) -> tuple[list[Path], list[str]]:
    """The PNGs that apply to this sweep, and a line for each plot left out and why."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = plots.plot_files(report.metric)
    figures, skipped = {}, []
    n_train_values = report.summary.get(plots.N_TRAIN, pd.Series(dtype=float)).nunique()
    if n_train_values > 1 and f"test_{report.metric}_mean" in report.summary.columns:
        figures[names["learning_curve"]] = plots.learning_curve(report.summary, report.trials, report.metric)
    else:
        skipped.append(f"{names['learning_curve']}: data.n_train does not vary between completed trials")
    validation = f"metrics.val_{report.metric}"
    timed = [c for c in (validation, plots.FIT_SECONDS) if c in report.trials.columns]
    if len(timed) == 2 and report.trials[timed].notna().all(axis=1).any():
        figures[names["vs_time"]] = plots.metric_vs_time(report.trials, report.metric)
    else:
        skipped.append(f"{names['vs_time']}: no trial has both val_{report.metric} and fit_seconds")
    if not report.val_history.empty:
        figures[names["per_epoch"]] = plots.validation_curves(report.trials, report.val_history, report.metric)
    else:
        skipped.append(f"{names['per_epoch']}: no trial logged val_{report.metric}")
    written = []
    for name, figure in figures.items():
        figure.savefig(out_dir / name, dpi=120)
        written.append(out_dir / name)
    return written, skipped
