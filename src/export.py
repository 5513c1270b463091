"""Export a sweep's trials, seed summary, optional pivot table, plots and report.html into one folder.

    python -m src.export --out results/                     # the latest sweep in the store
                                                            # (compare.csv when trainer.seed was swept too)
    python -m src.export --out results/ --pivot rows=model cols=data.n_train value=test_acc
    python -m src.export --out results/ --experiment imdb --sweep <parent run id>
    python -m src.export --compare SWEEP_A SWEEP_B [--out DIR]   # names or parent run ids: B minus A

Reads the store the trainer writes: $MLFLOW_TRACKING_URI, else ./mlruns/mlflow.db.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from hydra_plugins.seqsweep_plugins import mask_secrets, refuse, significant
from src.reporting.errors import ReportError
from src.reporting.html_report import write_html_report
from src.reporting.pivot import parse_pivot, pivot
from src.reporting.report import load_sweep, write_comparisons, write_plots, write_tables
from src.reporting.runs import latest_sweep, open_store
from src.reporting.sweep_compare import compare_sweeps, find_sweep


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m src.export", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="folder for trials.csv, summary.csv, pivot.csv, the PNGs and report.html")
    parser.add_argument("--experiment", help="experiment name (default: the experiment of the sweep)")
    parser.add_argument("--sweep", metavar="PARENT_RUN_ID", help="the sweep's parent run id (default: the latest sweep)")
    parser.add_argument(
        "--pivot", nargs="+", metavar="KEY=VALUE", help="rows=NAME[,NAME] cols=NAME[,NAME] value=NAME [agg=mean]"
    )
    parser.add_argument(
        "--compare", nargs=2, metavar=("SWEEP_A", "SWEEP_B"), help="compare two sweeps (names or parent run ids): B minus A"
    )
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    """Refuse, before reading the store, what cannot work: an --out that is a file, an empty --sweep."""
    if args.out is None and args.compare is None:
        raise ReportError("--out is needed: the folder to write the tables and plots into (or use --compare A B)")
    if args.compare is not None and (args.sweep or args.pivot):
        raise ReportError("--compare is not allowed with --sweep or --pivot: it names its two sweeps itself")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise ReportError(f"--out={args.out} is not allowed: it is a file; give a folder (created if missing)")
    if args.sweep is not None and not args.sweep.strip():
        raise ReportError("--sweep='' is not allowed: a sweep's parent run id, or leave --sweep out for the latest sweep")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.compare is not None:
        return compare_main(args)
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
        pictures.append(write_html_report(report, args.out))
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


def compare_main(args: argparse.Namespace) -> int:
    """`--compare A B`: the per-combination table (and where the code differs) printed, and
    written as compare_sweeps.csv and compare_sweeps_provenance.csv when --out is given."""
    try:
        check_args(args)
        uri = open_store()
        ids = [find_sweep(name) for name in args.compare]
        comparison = compare_sweeps(load_sweep(ids[0]), load_sweep(ids[1]), names=tuple(args.compare))
    except ReportError as error:
        refuse(error)
    print(f"sweep B ({args.compare[1]}) minus sweep A ({args.compare[0]}) in {mask_secrets(uri)}:")
    with pd.option_context("display.width", 200):
        print(comparison.table.to_string(index=False, float_format=significant))
    flagged = int(comparison.table["beyond_seed_noise"].sum())
    print(f"{flagged} of {len(comparison.table)} combination(s) differ beyond seed noise")
    for row in comparison.provenance.itertuples():
        print(f"differs: {row.item}: A {row.a or 'unknown'}, B {row.b or 'unknown'}")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        comparison.table.to_csv(args.out / "compare_sweeps.csv", index=False)
        comparison.provenance.to_csv(args.out / "compare_sweeps_provenance.csv", index=False)
        print(f"wrote {args.out / 'compare_sweeps.csv'}\nwrote {args.out / 'compare_sweeps_provenance.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
