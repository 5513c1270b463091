"""report.html: one page per sweep with its answer, the evidence for it, and every trial.

Sections, in order: the result table with intervals; the pairwise comparisons (beyond seed
noise?); learning curves with power-law fits; parameter importance; parallel coordinates;
per-epoch curves; the Pareto front of two objectives; a sortable trials table. A section that
cannot be drawn for this sweep (one trial, one training-set size, no history) says why in one line.
Optuna draws importance, parallel coordinates and the Pareto front from the trials as an
in-memory study (study.py), so grid sweeps get them too.
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pandas as pd
import plotly.graph_objects as go

from hydra_plugins.seqsweep_plugins import mask_secrets
from src.reporting.columns import short_name, written_names
from src.reporting.comparable import comparable
from src.reporting.html_page import Section, note, page, why
from src.reporting.interactive import LEVEL, epoch_curves, learning_curves, level_curves
from src.reporting.learning_fit import EXTRAPOLATION, describe, fit_lines
from src.reporting.metrics import kind_of
from src.reporting.overview import result_table, validation_note
from src.reporting.plots import FIT_SECONDS, N_TRAIN
from src.reporting.report import SweepReport, comparison_table
from src.reporting.seed_summary import SEED, completed, setting_columns, shown_keys
from src.reporting.study import as_study, importance_evaluator

FILE_NAME = "report.html"
# The trials table's columns after the varied settings, when logged: what a reader sorts by.
TRIAL_METRICS = ["test_{m}", "val_{m}", "fit_seconds", "epochs_run", "n_params", "ms_per_step"]


def write_html_report(report: SweepReport, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILE_NAME
    path.write_text(html_report(report), encoding="utf-8")
    return path


def html_report(report: SweepReport) -> str:
    statuses = ", ".join(f"{n} {s}" for s, n in report.trials["status"].value_counts().items())
    lead = (
        f"Sweep {report.parent_run_id}: {len(report.trials)} trials ({statuses}); "
        f"headline metric test_{report.metric}. Tables and PNGs: python -m src.export --out DIR"
    )
    sections = [
        results_section(report),
        comparisons_section(report),
        learning_curves_section(report),
        levels_section(report),
        importance_section(report),
        parallel_section(report),
        epochs_section(report),
        pareto_section(report),
        trials_section(report),
    ]
    # Params, errors and hover texts may hold store URLs: no password leaves in the page. Masked
    # here, at one choke point for every section (plotly.js, added by the page, holds none).
    sections = [Section(s.id, s.title, mask_secrets(s.body)) for s in sections]
    return page(f"Sweep report: test_{report.metric}", lead, sections)


def results_section(report: SweepReport) -> Section:
    title = "Result: mean over seeds with 95% intervals"
    table = result_table(report)
    if table.empty:
        return Section("results", title, why("No result: no trial completed (every trial failed or was pruned)."))
    counts = report.summary["count"]
    body = _table(table)
    if (counts < 2).all():
        body += why(
            "No intervals: every combination has one completed trial, and a 95% interval needs two or more "
            "(sweep trainer.seed=1,2,3 too)."
        )
    elif (counts < 2).any():
        body += why("A combination with one completed trial has no interval: sweep trainer.seed=1,2,3 for it.")
    validated = validation_note(report.trials, f"val_{report.metric}")
    text = f"Test set; interval: Student t over seeds (docs/reference.md). {validated}"
    return Section("results", title, note(text) + body)


def comparisons_section(report: SweepReport) -> Section:
    title = "Is a difference beyond seed noise?"
    table, why_not = comparison_table(report)
    if table is None:
        return Section("comparisons", title, why(f"No comparisons: {why_not}."))
    table = table.assign(
        level=table["level"].round(4), beyond_seed_noise=table["beyond_seed_noise"].map({True: "yes", False: "no"})
    )
    text = (
        f"test_{report.metric} of a minus b, paired by seed, within each combination of the other settings; "
        "the intervals hold together at 95% (Bonferroni), and 'yes' means the interval excludes 0."
    )
    return Section("comparisons", title, note(text) + _table(table, sortable=True))


def learning_curves_section(report: SweepReport) -> Section:
    title = "Learning curves"
    test = f"test_{report.metric}_mean"
    if N_TRAIN not in report.summary or report.summary[N_TRAIN].nunique() < 2 or test not in report.summary:
        return Section(
            "learning-curves", title, why("No learning curve: data.n_train does not vary between completed trials.")
        )
    fits = fit_lines(report.summary, report.trials, report.metric)
    figure = learning_curves(report.summary, report.trials, report.metric, fits)
    text = (
        f"Dots: single trials. Dotted: the power law error = a·n^-b fitted per line to every trial (error = 1 - metric "
        f"for a fraction), run on to {EXTRAPOLATION}x the largest size, where a diamond and its bar give the prediction "
        "and its 95% interval. Poor fit (an x): fewer than 3 sizes, an error that does not fall, or R² < 0.9 on "
        "log-log axes; its prediction is not to be trusted."
    )
    fit_table = pd.DataFrame([describe(fit, report.metric) for fit in fits])
    return Section("learning-curves", title, _figure(figure, "learning-curves") + note(text) + _table(fit_table))


def levels_section(report: SweepReport) -> Section:
    """A fidelity sweep's ladder (hydra.sweeper.fidelity): what the search saw at each level."""
    title = "Levels of the search"
    objective = report.objectives[0][0] if report.objectives else f"val_{report.metric}"
    if LEVEL not in report.trials or f"metrics.{objective}" not in report.trials:
        return Section("levels", title, why("No levels: this sweep had no fidelity (hydra.sweeper.fidelity.key)."))
    figure = level_curves(report.trials, objective)
    text = (
        f"Each configuration trained at growing levels of {_fidelity_key(report)}, each level from scratch on a larger "
        f"nested subset and validated on the same examples; it went on only while the pruner kept it. An x ends a "
        "configuration stopped below the top level; a circle one that reached it. "
        "The best is chosen among those that reached the top."
    )
    return Section("levels", title, note(text) + _figure(figure, "levels"))


def _fidelity_key(report: SweepReport) -> str:
    varying = report.trials.get("tags.fidelity_key")
    return str(varying.dropna().iloc[0]) if varying is not None and varying.notna().any() else "the fidelity key"


def importance_section(report: SweepReport) -> Section:
    title = "Parameter importance"
    target = _importance_target(report)
    study, why_not = _study_of(report, target)
    if study is None:
        return Section("importance", title, why(f"No importance: {why_not}."))
    figure = optuna.visualization.plot_param_importances(study, evaluator=importance_evaluator(), target_name=target)
    text = (
        f"Share of the variance of {target} each setting explains (Optuna's fANOVA evaluator, "
        f"{len(study.trials)} completed trials). The seed's share is what seeds alone change."
    )
    return Section("importance", title, note(text) + _figure(figure, "importance", f"What decides {target}"))


def parallel_section(report: SweepReport) -> Section:
    title = "Parallel coordinates"
    target = _importance_target(report)
    study, why_not = _study_of(report, target)
    if study is None:
        return Section("parallel", title, why(f"No parallel coordinates: {why_not}."))
    figure = optuna.visualization.plot_parallel_coordinate(study, target_name=target)
    text = "Each line is a completed trial, coloured by its value; drag along an axis to keep only the lines crossing there."
    return Section("parallel", title, note(text) + _figure(figure, "parallel", f"Settings and {target} of every trial"))


def epochs_section(report: SweepReport) -> Section:
    title = "Per-epoch curves"
    if report.val_history.empty or not (report.val_history["step"] >= 1).any():
        return Section("epochs", title, why(f"No per-epoch curves: no trial logged val_{report.metric} per epoch."))
    figure = epoch_curves(report.trials, report.val_history, report.metric)
    return Section("epochs", title, _figure(figure, "epochs"))


def pareto_section(report: SweepReport) -> Section:
    title = "Pareto front"
    targets, why_not = _pareto_targets(report)
    if why_not is None:
        # Among trials validated on the same examples, and enough of them: the sweep's own rule.
        first, direction = targets[0]
        allowed, why_not = comparable(report.trials, f"metrics.{first}", direction == "maximize")
    if why_not is None:
        study = as_study(report.trials[allowed], [(f"metrics.{name}", direction) for name, direction in targets])
        why_not = None if study.trials else f"no completed trial has both {targets[0][0]} and {targets[1][0]}"
    if why_not is not None:
        return Section("pareto", title, why(f"No Pareto front: {why_not}."))
    names = [name for name, _ in targets]
    figure = optuna.visualization.plot_pareto_front(study, target_names=names)
    # Optuna shades each group of points by trial number, which means nothing in a grid sweep: one
    # colour for the front (its traces hover as "Best Trial"), grey for the rest, and a legend.
    for trace in figure.data:
        front = "Best Trial" in (trace.hovertemplate or "")
        trace.update(
            name=f"on the front ({len(trace.x)})" if front else f"dominated ({len(trace.x)})",
            showlegend=True,
            marker={"color": "crimson" if front else "rgba(120,120,120,0.5)", "showscale": False, "size": 9},
        )
    text = (
        f"{names[0]} ({targets[0][1]}) against {names[1]} ({targets[1][1]}): a trial is on the front "
        "when no other is at least as good on both and better on one. Validation, not test: choosing on "
        "the test set would spend the data meant to judge the choice."
    )
    return Section("pareto", title, note(text) + _figure(figure, "pareto", f"{names[0]} against {names[1]}"))


def trials_section(report: SweepReport) -> Section:
    trials = report.trials
    settings = [k for k in shown_keys(trials, setting_columns(trials)) if trials[k].nunique(dropna=False) > 1]
    metrics = [f"metrics.{m.format(m=report.metric)}" for m in TRIAL_METRICS]
    columns = ["run_name", "status", "model", *settings, SEED, *metrics, "pruned_at_epoch", "error"]
    # A column no trial has a value in (no trial pruned, none failed) says nothing.
    present = [c for c in dict.fromkeys(columns) if c in trials and trials[c].notna().any()]
    shown = written_names(trials[present])
    text = f"Every trial ({len(trials)}), in launch order; click a header to sort. trials.csv has every column."
    return Section("trials", "Trials", note(text) + '<div class="scroll">' + _table(shown, sortable=True) + "</div>")


def _importance_target(report: SweepReport) -> str:
    """The first of the sweep's objective, val_<metric> and test_<metric> that some trial logged
    (the first one when none did, to name in the line saying so)."""
    names = [name for name, _ in report.objectives[:1]] + [f"val_{report.metric}", f"test_{report.metric}"]
    logged = [n for n in names if f"metrics.{n}" in report.trials and report.trials[f"metrics.{n}"].notna().any()]
    return (logged or names)[0]


def _study_of(report: SweepReport, target: str) -> tuple[optuna.Study | None, str | None]:
    column = f"metrics.{target}"
    done = completed(report.trials)
    if column not in done or done[column].notna().sum() < 2:
        return None, f"fewer than 2 completed trials have {target}"
    study = as_study(report.trials, [(column, "maximize")])
    if not study.trials[0].distributions:
        return None, "no setting varies between completed trials"
    if len({trial.value for trial in study.trials}) < 2:
        return None, f"{target} is the same in every completed trial"
    return study, None


def _pareto_targets(report: SweepReport) -> tuple[list[tuple[str, str]], str | None]:
    """The sweep's two objectives, or for a one-objective sweep its validation metric against
    training time (the pair accuracy_vs_time.png shows)."""
    if len(report.objectives) == 2:
        targets = list(report.objectives)
    else:
        better = kind_of(report.metric).higher_is_better
        if better is None:
            return [], f"unknown whether a higher val_{report.metric} is better"
        targets = [(f"val_{report.metric}", "maximize" if better else "minimize"), (short_name(FIT_SECONDS), "minimize")]
    missing = [name for name, _ in targets if f"metrics.{name}" not in report.trials]
    return targets, (f"no trial logged {', '.join(missing)}" if missing else None)


def _figure(figure: go.Figure, name: str, title: str | None = None) -> str:
    # One look for Optuna's figures and ours; Optuna's titles name the plot type, ours say what it shows.
    figure.update_layout(template="plotly_white", **({"title": title} if title else {}))
    # plotly.js is in the page's head once (html_page.py); every figure leaves it out.
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"{name}-plot", config={"displaylogo": False})


def _table(table: pd.DataFrame, sortable: bool = False) -> str:
    classes = "sortable" if sortable else None
    # Missing is an empty cell, as in the CSVs (na_rep alone leaves pandas' <NA> of integer columns),
    # and a whole number in a column with gaps reads 100, not 100.0.
    cells = table.astype(object).where(table.notna(), "").map(_whole)
    return cells.to_html(index=False, classes=classes, border=0)


def _whole(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value
