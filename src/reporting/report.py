"""A sweep's report files: trials.csv, summary.csv, pivot.csv and the PNG plots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from src.reporting import plots
from src.reporting.pivot import PivotSpec, pivot
from src.reporting.runs import metric_histories, sweep_trials
from src.reporting.seed_summary import seed_summary
from src.reporting.trials import tidy_trials


@dataclass
class SweepReport:
    parent_run_id: str
    trials: pd.DataFrame
    summary: pd.DataFrame
    val_acc: pd.DataFrame  # run_id, step (epoch), val_acc


def load_sweep(parent_run_id: str, experiment_name: str | None = None) -> SweepReport:
    """Read the sweep's trials from the current MLflow store and summarize them."""
    trials = tidy_trials(sweep_trials(parent_run_id, experiment_name))
    return SweepReport(parent_run_id, trials, seed_summary(trials), metric_histories(list(trials["run_id"]), "val_acc"))


def write_tables(report: SweepReport, out_dir: Path, pivot_spec: PivotSpec | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "trials.csv", out_dir / "summary.csv"]
    report.trials.to_csv(written[0], index=False)
    report.summary.to_csv(written[1], index=False)
    if pivot_spec is not None:
        written.append(out_dir / "pivot.csv")
        pivot(report.trials, pivot_spec).to_csv(written[-1])
    return written


def write_plots(report: SweepReport, out_dir: Path) -> tuple[list[Path], list[str]]:
    """The PNGs that apply to this sweep, and a line for each plot left out and why."""
    out_dir.mkdir(parents=True, exist_ok=True)
    figures, skipped = {}, []
    n_train_values = report.summary.get(plots.N_TRAIN, pd.Series(dtype=float)).nunique()
    if n_train_values > 1:
        figures["learning_curve.png"] = plots.learning_curve(report.summary, report.trials)
    else:
        skipped.append("learning_curve.png: data.n_train does not vary between completed trials")
    timed = [c for c in (plots.ACCURACY, plots.FIT_SECONDS) if c in report.trials.columns]
    if len(timed) == 2 and report.trials[timed].notna().all(axis=1).any():
        figures["accuracy_vs_time.png"] = plots.accuracy_vs_time(report.trials)
    else:
        skipped.append("accuracy_vs_time.png: no trial has both test_acc and fit_seconds")
    if not report.val_acc.empty:
        figures["val_acc_per_epoch.png"] = plots.validation_curves(report.trials, report.val_acc)
    else:
        skipped.append("val_acc_per_epoch.png: no trial logged val_acc")
    written = []
    for name, figure in figures.items():
        figure.savefig(out_dir / name, dpi=120)
        written.append(out_dir / name)
    return written, skipped
