"""Export a sweep's trials, seed summary, optional pivot table and plots into one folder.

    python -m src.export --out results/                     # the latest sweep in the store
                                                            # (compare.csv when trainer.seed was swept too)
    python -m src.export --out results/ --pivot rows=model cols=data.n_train value=test_acc
    python -m src.export --out results/ --experiment imdb --sweep <parent run id>

Reads the store the trainer writes: $MLFLOW_TRACKING_URI, else ./mlruns/mlflow.db.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from hydra_plugins.seqsweep_plugins import mask_secrets, refuse
from src.reporting.errors import ReportError
from src.reporting.pivot import parse_pivot, pivot
from src.reporting.report import load_sweep, write_comparisons, write_plots, write_tables
from src.reporting.runs import latest_sweep, open_store


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m src.export", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for trials.csv, summary.csv, pivot.csv and the PNGs")
    parser.add_argument("--experiment", help="experiment name (default: the experiment of the sweep)")
    parser.add_argument("--sweep", metavar="PARENT_RUN_ID", help="the sweep's parent run id (default: the latest sweep)")
    parser.add_argument(
        "--pivot", nargs="+", metavar="KEY=VALUE", help="rows=NAME[,NAME] cols=NAME[,NAME] value=NAME [agg=mean]"
    )
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    """Refuse, before reading the store, what cannot work: an --out that is a file, an empty --sweep."""
    if args.out.exists() and not args.out.is_dir():
        raise ReportError(f"--out={args.out} is not allowed: it is a file; give a folder (created if missing)")
    if args.sweep is not None and not args.sweep.strip():
        raise ReportError("--sweep='' is not allowed: a sweep's parent run id, or leave --sweep out for the latest sweep")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_args(args)
        pivot_spec = parse_pivot(args.pivot) if args.pivot else None
        uri = open_store()
        parent_run_id = args.sweep or latest_sweep(args.experiment)
        report = load_sweep(parent_run_id, args.experiment)
        if pivot_spec is not None:
            pivot(report.trials, pivot_spec)  # an unknown column fails before anything is written
        tables = write_tables(report, args.out, pivot_spec)
        comparisons, not_compared = write_comparisons(report, args.out)
        pictures, skipped = write_plots(report, args.out)
        tables, skipped = [*tables, *comparisons], [*not_compared, *skipped]
    except ReportError as error:
        refuse(error)
    print(
        f"sweep {parent_run_id} in {mask_secrets(uri)}: {len(report.trials)} trials "
        f"({', '.join(f'{n} {s}' for s, n in report.trials['status'].value_counts().items())})"
    )
    if pivot_spec is not None:
        with pd.option_context("display.width", 200, "display.precision", 4):
            print(pivot(report.trials, pivot_spec).to_string())
    for path in [*tables, *pictures]:
        print(f"wrote {path}")
    for line in skipped:
        print(f"skipped {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
