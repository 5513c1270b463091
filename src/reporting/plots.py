"""The sweep's comparison plots as matplotlib Figures (no pyplot state, so no GUI backend is needed).

Each plot shows the sweep's own metric (`data.primary_metric`: accuracy for IMDB, for example);
a model has the same colour in every figure (`model_colour`), and every legend entry is
listed once.
"""

from __future__ import annotations

import math
import zlib

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from src.reporting.comparable import comparable
from src.reporting.metrics import axis_label, kind_of
from src.reporting.pareto import pareto_optimal
from src.reporting.seed_summary import group_keys

N_TRAIN = "params.data.n_train"
FIT_SECONDS = "metrics.fit_seconds"

_PALETTE = matplotlib.colormaps["tab10"].colors
# The models of conf/model/ get fixed colours, so a model looks the same in every figure and
# every sweep; any other model name gets one of the remaining colours by a hash of its name.
MODEL_COLOURS = {
    "simplernn": _PALETTE[0],
    "lstm": _PALETTE[1],
    "gru": _PALETTE[2],
    "bilstm": _PALETTE[3],
    "mlp": _PALETTE[4],
    "dense_bow": _PALETTE[5],
    "pretrained": _PALETTE[6],
}
_SPARE = _PALETTE[7:]
# Lines of one model that differ in another setting keep the colour and change the dash.
_DASHES = ["-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1))]


def model_colour(model: object) -> tuple[float, float, float]:
    name = str(model)
    return MODEL_COLOURS.get(name) or _SPARE[zlib.crc32(name.encode()) % len(_SPARE)]


def plot_files(metric: str) -> dict[str, str]:
    """File names of the plots of a sweep whose primary metric is `metric` (acc keeps its familiar names)."""
    headline = "accuracy" if metric == "acc" else metric
    return {
        "learning_curve": "learning_curve.png",
        "vs_time": f"{headline}_vs_time.png",
        "per_epoch": f"val_{metric}_per_epoch.png",
    }


def learning_curve(summary: pd.DataFrame, trials: pd.DataFrame, metric: str = "acc") -> Figure:
    """Test metric vs training-set size (log x): the mean over seeds per group, a shaded 95%
    band where a point has several seeds, and every trial as a faint dot."""
    test = f"test_{metric}"
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    line_keys, lines = curve_lines(summary)
    dashes: dict[str, int] = {}
    any_band = False
    for label, name, line in lines:
        model = line["model"].iloc[0]
        colour, dash = model_colour(model), _DASHES[dashes.setdefault(model, 0) % len(_DASHES)]
        dashes[model] += 1
        ax.plot(
            line[N_TRAIN],
            line[f"{test}_mean"],
            marker="o",
            color=colour,
            linestyle=dash,
            label=f"{name} (mean of {_counts(line['count'])})",
        )
        band = line[line["count"] > 1]
        low, high = band[f"{test}_ci95_low"], band[f"{test}_ci95_high"]
        if len(band) > 1:
            any_band = True
            ax.fill_between(band[N_TRAIN], low, high, color=colour, alpha=0.2)
        elif len(band) == 1:
            # A band over one x value has no width; draw the interval as a bar instead.
            any_band = True
            mean = band[f"{test}_mean"]
            ax.errorbar(band[N_TRAIN], mean, yerr=[mean - low, high - mean], color=colour, alpha=0.4, capsize=4, fmt="none")
        members = line_members(trials, line_keys, label, f"metrics.{test}")
        ax.scatter(members[N_TRAIN], members[f"metrics.{test}"], color=colour, s=12, alpha=0.4)
    handles, labels = ax.get_legend_handles_labels()
    if any_band:
        handles.append(Patch(color="grey", alpha=0.3))
        labels.append("95% interval of the mean (shaded or bar)")
    handles.append(Line2D([], [], marker="o", linestyle="", color="grey", alpha=0.5, markersize=4))
    labels.append("one trial (dot)")
    ax.set_xscale("log")
    sizes = sorted(summary[N_TRAIN].dropna().unique())
    ax.set_xticks(sizes, [f"{size:g}" for size in sizes])
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_title(f"{axis_label(test).split(' (')[0].capitalize()} vs training-set size" + _test_set_size(trials))
    ax.set_xlabel("training examples, data.n_train (count, log scale)")
    ax.set_ylabel(axis_label(test))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(handles, labels, loc="best", fontsize="small")
    return fig


def metric_vs_time(trials: pd.DataFrame, metric: str = "acc") -> Figure:
    """Every finished trial's validation metric against its training time; Pareto-optimal trials
    (no other is both as good and as fast) ringed, labelled and joined by a step line. Validation,
    not test: a front picked on the test set would select on the data meant to judge the choice."""
    test = f"metrics.val_{metric}"
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    done = trials[trials[test].notna() & trials[FIT_SECONDS].notna()]
    for model, group in done.groupby("model", sort=True):
        ax.scatter(group[FIT_SECONDS], group[test], color=model_colour(model), label=str(model), alpha=0.8)
    higher_is_better = kind_of(test).higher_is_better is not False
    # Ringed only among trials validated on the same examples, and enough of them (the sweep's own rule).
    allowed, not_comparable = comparable(done, test, higher_is_better)
    rivals = done[allowed]
    score = rivals[test] if higher_is_better else -rivals[test]
    front = rivals[pareto_optimal(score, rivals[FIT_SECONDS])].sort_values(FIT_SECONDS)
    ax.scatter(
        front[FIT_SECONDS],
        front[test],
        s=160,
        facecolors="none",
        edgecolors="black",
        linewidths=1.5,
        label=f"Pareto-optimal ({len(front)}): best for its training time",
    )
    ax.step(front[FIT_SECONDS], front[test], where="post", color="black", linewidth=0.8, alpha=0.6)
    for number, (_, trial) in enumerate(front.iterrows()):
        # Alternate below/above so labels of trials with near-equal times do not overprint.
        ax.annotate(
            _trial_label(trial),
            (trial[FIT_SECONDS], trial[test]),
            textcoords="offset points",
            xytext=(8, -12 if number % 2 == 0 else 6),
            fontsize="x-small",
        )
    if len(done) and done[FIT_SECONDS].max() > 10 * max(done[FIT_SECONDS].min(), 1e-3):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.LogFormatter())
        ax.xaxis.set_minor_formatter(ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
    ringed = "Pareto front ringed" if not not_comparable else "no Pareto front"
    ax.set_title(f"{axis_label(test).split(' (')[0].capitalize()} vs training time, {ringed}")
    if not_comparable:
        ax.text(0.5, 0.02, f"no front: {not_comparable}", transform=ax.transAxes, ha="center", fontsize="x-small", wrap=True)
    ax.set_xlabel("training time, fit_seconds (s)" + (", log scale" if ax.get_xscale() == "log" else ""))
    ax.set_ylabel(axis_label(test))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def validation_curves(trials: pd.DataFrame, histories: pd.DataFrame, metric: str = "acc") -> Figure:
    """The validation metric per epoch, one line per trial coloured by model, one panel per
    training-set size; a pruned or failed trial's line ends with an x."""
    column = f"val_{metric}"
    sizes = sorted(trials[N_TRAIN].dropna().unique()) if N_TRAIN in trials else []
    panels = sizes or [None]
    ncols = min(len(panels), 3)
    nrows = math.ceil(len(panels) / ncols)
    fig = Figure(figsize=(4.2 * ncols + 1.5, 3.6 * nrows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
    stopped_early = False
    for ax, size in zip(axes, panels):
        in_panel = trials if size is None else trials[trials[N_TRAIN] == size]
        for _, trial in in_panel.iterrows():
            # Epochs are steps 1, 2, ...; older stores also hold a step 0 copy of the last value.
            curve = histories[(histories["run_id"] == trial["run_id"]) & (histories["step"] >= 1)].sort_values("step")
            if curve.empty:
                continue
            colour = model_colour(trial["model"])
            # A one-epoch curve is a single point, which a line alone does not draw.
            marker = "o" if len(curve) == 1 else None
            ax.plot(curve["step"], curve[column], color=colour, alpha=0.6, linewidth=1, marker=marker, markersize=4)
            if trial["status"] != "FINISHED" or pd.notna(trial["pruned_at_epoch"]):
                stopped_early = True
                ax.plot(curve["step"].iloc[-1], curve[column].iloc[-1], marker="x", color=colour, markersize=8)
        ax.set_title(
            f"data.n_train={size:g} ({len(in_panel)} trials)" if size is not None else f"{len(in_panel)} trials",
            fontsize="medium",
        )
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(True, alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel(axis_label(column))
    for ax in axes[(nrows - 1) * ncols :]:
        ax.set_xlabel("epoch")
    models = sorted(trials["model"].dropna().unique(), key=str)
    handles = [Line2D([], [], color=model_colour(m)) for m in models]
    labels = [f"{m} ({int((trials['model'] == m).sum())} trials)" for m in models]
    if stopped_early:
        handles.append(Line2D([], [], marker="x", linestyle="", color="black"))
        labels.append("stopped early (pruned or failed)")
    fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    fig.suptitle(f"{axis_label(column).split(' (')[0].capitalize()} per epoch, every trial ({len(trials)})")
    return fig


def curve_lines(summary: pd.DataFrame) -> tuple[list[str], list[tuple[object, str, pd.DataFrame]]]:
    """The learning curve's lines: the keys that tell them apart (every group key but data.n_train),
    and per line its label (its values of those keys), legend name and summary rows by size."""
    keys = [c for c in group_keys(summary) if c != N_TRAIN]
    groups = list(summary.groupby(keys, dropna=False, sort=True))
    names = line_names(keys, [label for label, _ in groups])
    return keys, [(label, name, rows.sort_values(N_TRAIN)) for (label, rows), name in zip(groups, names)]


def line_members(trials: pd.DataFrame, keys: list[str], label, value: str) -> pd.DataFrame:
    """The completed trials of one learning-curve line (`label`: its values of `keys`) that have `value`."""
    values = label if isinstance(label, tuple) else (label,)
    mask = pd.Series(True, index=trials.index)
    for key, wanted in zip(keys, values):
        mask &= trials[key].isna() if pd.isna(wanted) else trials[key] == wanted
    completed = (trials["status"] == "FINISHED") & trials["pruned_at_epoch"].isna()
    return trials[mask & completed & trials[value].notna()]


def line_names(keys: list[str], labels: list) -> list[str]:
    """Short legend names: the model, plus only the settings that tell apart lines of the same model.

    Settings one model lacks (NaN for the others, e.g. a pretrained model's encoder next to
    a GRU) or that every line of a model shares would only make the legend unreadable.
    """
    rows = pd.DataFrame([label if isinstance(label, tuple) else (label,) for label in labels], columns=keys)
    model = rows["model"] if "model" in rows else pd.Series("", index=rows.index)
    names = []
    for index, row in rows.iterrows():
        same_model = rows[model == model[index]]
        parts = [str(row["model"])] if "model" in rows else []
        for key in keys:
            if key == "model" or pd.isna(row[key]) or same_model[key].nunique(dropna=True) < 2:
                continue
            parts.append(f"{key.removeprefix('params.')}={row[key]}")
        names.append(", ".join(parts))
    # Lines that differ only where one side has no value would share a name; number them.
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        seen[name] = seen.get(name, 0) + 1
        if names.count(name) > 1:
            names[index] = f"{name} #{seen[name]}"
    return names


def _counts(counts: pd.Series) -> str:
    low, high = int(counts.min()), int(counts.max())
    return f"{low} seed{'s' if high > 1 else ''}" if low == high else f"{low}-{high} seeds"


def _test_set_size(trials: pd.DataFrame) -> str:
    sizes = trials.get("metrics.n_test", pd.Series(dtype=float)).dropna().unique()
    return f" (each trial tested on {int(sizes[0]):,} examples)" if len(sizes) == 1 else ""


def _trial_label(trial: pd.Series) -> str:
    n_train = trial.get(N_TRAIN)
    return f"{trial['model']}" + (f", n={n_train}" if pd.notna(n_train) else "")
