"""The sweep's comparison plots as matplotlib Figures (no pyplot state, so no GUI backend is needed)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.figure import Figure

from src.reporting.pareto import pareto_optimal
from src.reporting.seed_summary import SUMMARY_COLUMNS

N_TRAIN = "params.data.n_train"
ACCURACY = "metrics.test_acc"
FIT_SECONDS = "metrics.fit_seconds"


def learning_curve(summary: pd.DataFrame, trials: pd.DataFrame) -> Figure:
    """Test accuracy vs training-set size (log x): the mean over seeds per model, a shaded 95%
    band where a point has several seeds, and every trial as a faint dot."""
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    acc = summary[summary["metric"] == "test_acc"]
    line_keys = [c for c in acc.columns if c not in (N_TRAIN, *SUMMARY_COLUMNS)]
    groups = list(acc.groupby(line_keys, dropna=False, sort=True))
    names = _line_names(line_keys, [label for label, _ in groups])
    for (label, line), name, color in zip(groups, names, _colors()):
        line = line.sort_values(N_TRAIN)
        ax.plot(line[N_TRAIN], line["mean"], marker="o", color=color, label=f"{name} (mean of {_counts(line['count'])})")
        band = line[line["count"] > 1]
        if not band.empty:
            ax.fill_between(band[N_TRAIN], band["ci95_low"], band["ci95_high"], color=color, alpha=0.2, label=f"{name} 95% CI")
        members = _members(trials, line_keys, label)
        ax.scatter(members[N_TRAIN], members[ACCURACY], color=color, s=12, alpha=0.4, label=f"{name} trials")
    ax.set_xscale("log")
    sizes = sorted(acc[N_TRAIN].dropna().unique())
    ax.set_xticks(sizes, [f"{size:g}" for size in sizes])
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_title("Test accuracy vs training-set size" + _test_set_size(trials))
    ax.set_xlabel("training examples, data.n_train (count, log scale)")
    ax.set_ylabel("test accuracy (fraction correct)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def accuracy_vs_time(trials: pd.DataFrame) -> Figure:
    """Every finished trial's test accuracy against its training time; Pareto-optimal trials
    (no other is both as accurate and as fast) ringed, labelled and joined by a step line."""
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    done = trials[trials[ACCURACY].notna() & trials[FIT_SECONDS].notna()]
    for (model, group), color in zip(done.groupby("model", sort=True), _colors()):
        ax.scatter(group[FIT_SECONDS], group[ACCURACY], color=color, label=str(model), alpha=0.8)
    front = done[pareto_optimal(done[ACCURACY], done[FIT_SECONDS])].sort_values(FIT_SECONDS)
    ax.scatter(front[FIT_SECONDS], front[ACCURACY], s=160, facecolors="none", edgecolors="black", linewidths=1.5,
               label=f"Pareto-optimal ({len(front)}): highest accuracy for its training time")
    ax.step(front[FIT_SECONDS], front[ACCURACY], where="post", color="black", linewidth=0.8, alpha=0.6)
    for number, (_, trial) in enumerate(front.iterrows()):
        # Alternate below/above so labels of trials with near-equal times do not overprint.
        ax.annotate(_trial_label(trial), (trial[FIT_SECONDS], trial[ACCURACY]), textcoords="offset points",
                    xytext=(8, -12 if number % 2 == 0 else 6), fontsize="x-small")
    if len(done) and done[FIT_SECONDS].max() > 10 * max(done[FIT_SECONDS].min(), 1e-3):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.LogFormatter())
        ax.xaxis.set_minor_formatter(ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
    ax.set_title("Test accuracy vs training time, Pareto front ringed")
    ax.set_xlabel("training time, fit_seconds (s)" + (", log scale" if ax.get_xscale() == "log" else ""))
    ax.set_ylabel("test accuracy (fraction correct)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def validation_curves(trials: pd.DataFrame, histories: pd.DataFrame) -> Figure:
    """Validation accuracy per epoch, one line per trial, coloured by model (by training-set
    size when the sweep has one model); a pruned or failed trial's line ends with an x."""
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    key = _colour_key(trials)
    values = sorted(trials[key].dropna().unique())
    colors = dict(zip(values, _colors() if key == "model" else matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(values)))))
    for _, trial in trials.iterrows():
        # Epochs are steps 1, 2, ...; older stores also hold a step 0 copy of the last value.
        curve = histories[(histories["run_id"] == trial["run_id"]) & (histories["step"] >= 1)].sort_values("step")
        if curve.empty:
            continue
        color = colors.get(trial[key], "grey")
        ax.plot(curve["step"], curve["val_acc"], color=color, alpha=0.6, linewidth=1)
        if trial["status"] != "FINISHED" or pd.notna(trial["pruned_at_epoch"]):
            ax.plot(curve["step"].iloc[-1], curve["val_acc"].iloc[-1], marker="x", color=color, markersize=8)
    for value, color in colors.items():
        name = str(value) if key == "model" else f"{key.removeprefix('params.')}={value}"
        ax.plot([], [], color=color, label=f"{name} ({int((trials[key] == value).sum())} trials)")
    if not trials["status"].eq("FINISHED").all() or trials["pruned_at_epoch"].notna().any():
        ax.plot([], [], "x", color="black", label="stopped early (pruned or failed)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    models = ", ".join(str(m) for m in sorted(trials["model"].dropna().unique()))
    ax.set_title(f"Validation accuracy per epoch, every trial ({len(trials)}, {models})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (fraction correct)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def _colour_key(trials: pd.DataFrame) -> str:
    if trials["model"].nunique() > 1 or N_TRAIN not in trials or trials[N_TRAIN].nunique() < 2:
        return "model"
    return N_TRAIN


def _members(trials: pd.DataFrame, keys: list[str], label) -> pd.DataFrame:
    values = label if isinstance(label, tuple) else (label,)
    mask = pd.Series(True, index=trials.index)
    for key, value in zip(keys, values):
        mask &= trials[key].isna() if pd.isna(value) else trials[key] == value
    completed = (trials["status"] == "FINISHED") & trials["pruned_at_epoch"].isna()
    return trials[mask & completed & trials[ACCURACY].notna()]


def _line_names(keys: list[str], labels: list) -> list[str]:
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


def _colors() -> list:
    return list(matplotlib.colormaps["tab10"].colors) * 10
