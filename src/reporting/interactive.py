"""report.html's own plotly figures: learning curves with their power-law fits, and per-epoch curves.

Optuna draws the other figures of the report (importance, parallel coordinates, Pareto front).
These follow the PNGs in plots.py (same lines, bands, colours, labels) and add what a browser
can: hovering a point names its trial, and the fitted curves run on to 10x the largest size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from src.reporting.learning_fit import LineFit
from src.reporting.metrics import axis_label
from src.reporting.plots import N_TRAIN, curve_lines, line_members, model_colour

# plotly's names for plots.py's dashes: lines of one model that differ in another setting.
_DASHES = ["solid", "dash", "dot", "dashdot", "longdash"]


def rgb(model: object, alpha: float = 1.0) -> str:
    """`plots.model_colour` as CSS, so a model has one colour in the PNGs and the report."""
    red, green, blue = (round(255 * c) for c in model_colour(model))
    return f"rgba({red},{green},{blue},{alpha})"


def learning_curves(summary: pd.DataFrame, trials: pd.DataFrame, metric: str, fits: list[LineFit]) -> go.Figure:
    """Test metric vs data.n_train (log x): mean over seeds, its 95% band (a bar at a lone size),
    every trial a dot, and per line its fitted power law (dotted) to 10x the largest size, where
    a marker with its interval stands (an x where the fit is poor)."""
    test = f"test_{metric}"
    keys, lines = curve_lines(summary)
    figure = go.Figure()
    dashes: dict[str, int] = {}
    for (label, name, rows), fit in zip(lines, fits):
        model = str(rows["model"].iloc[0])
        dash = _DASHES[dashes.setdefault(model, 0) % len(_DASHES)]
        dashes[model] += 1
        _add_means(figure, rows, test, name, model, dash)
        members = line_members(trials, keys, label, f"metrics.{test}")
        figure.add_scatter(
            x=members[N_TRAIN],
            y=members[f"metrics.{test}"],
            mode="markers",
            marker={"color": rgb(model, 0.45), "size": 6},
            legendgroup=name,
            showlegend=False,
            text=members["run_name"],
            hovertemplate="%{text}<br>n=%{x}: %{y:.4g}<extra></extra>",
        )
        if fit.fit is not None:
            _add_fit(figure, fit, metric, float(rows[N_TRAIN].min()))
    sizes = sorted({*summary[N_TRAIN].dropna(), *(fit.target_size for fit in fits if fit.fit is not None)})
    figure.update_xaxes(
        type="log",
        tickvals=sizes,
        ticktext=[f"{size:,.0f}" for size in sizes],
        title="training examples, data.n_train (count, log scale)",
    )
    figure.update_yaxes(title=axis_label(test))
    figure.update_layout(
        title=f"{axis_label(test).split(' (')[0].capitalize()} vs training-set size, with power-law fits to 10x",
        height=560,
        legend={"font": {"size": 11}},
        template="plotly_white",
    )
    return figure


def _add_means(figure: go.Figure, rows: pd.DataFrame, test: str, name: str, model: str, dash: str) -> None:
    mean, low, high = rows[f"{test}_mean"], rows[f"{test}_ci95_low"], rows[f"{test}_ci95_high"]
    seeds = int(rows["count"].max())
    banded = rows[low.notna()]
    if len(banded) > 1:
        # One closed shape, upper edge out and lower edge back: plotly's way to shade between two lines.
        figure.add_scatter(
            x=[*banded[N_TRAIN], *banded[N_TRAIN][::-1]],
            y=[*banded[f"{test}_ci95_high"], *banded[f"{test}_ci95_low"][::-1]],
            mode="lines",  # plotly's default for a few points adds markers at every corner
            fill="toself",
            fillcolor=rgb(model, 0.18),
            line={"width": 0},
            hoverinfo="skip",
            legendgroup=name,
            showlegend=False,
        )
    bars = None
    if len(banded) == 1:  # a band over one size has no width: an error bar instead
        bars = {"type": "data", "symmetric": False, "array": high - mean, "arrayminus": mean - low, "thickness": 1}
    figure.add_scatter(
        x=rows[N_TRAIN],
        y=mean,
        mode="lines+markers",
        name=f"{name} (mean of {seeds} seed{'s' if seeds > 1 else ''}, 95% band)",
        line={"color": rgb(model), "dash": dash},
        error_y=bars,
        legendgroup=name,
        customdata=np.stack([low, high], axis=-1),
        hovertemplate=f"{name}, n=%{{x}}: mean %{{y:.4g}} [%{{customdata[0]:.4g}}, %{{customdata[1]:.4g}}]<extra></extra>",
    )


def _add_fit(figure: go.Figure, fit: LineFit, metric: str, smallest: float) -> None:
    colour = fit.model
    size, value, low, high = fit.prediction(metric)
    grid = np.geomspace(smallest, size, 60)
    poor = fit.fit.poor_fit is not None
    figure.add_scatter(
        x=grid,
        y=fit.metric_at(grid, metric),
        mode="lines",
        line={"color": rgb(colour, 0.8), "dash": "dot", "width": 1.5},
        name=f"{fit.name}: power law, b={fit.fit.exponent:.2f}" + (" (poor fit)" if poor else ""),
        legendgroup=fit.name,
        hoverinfo="skip",
    )
    bars = (
        None if np.isnan(low) else {"type": "data", "symmetric": False, "array": [high - value], "arrayminus": [value - low]}
    )
    figure.add_scatter(
        x=[size],
        y=[value],
        mode="markers",
        marker={"color": rgb(colour), "size": 10, "symbol": "x" if poor else "diamond"},
        error_y=bars,
        legendgroup=fit.name,
        showlegend=False,
        hovertemplate=f"{fit.name}, predicted at n=%{{x:,.0f}}: %{{y:.4g}} [{low:.4g}, {high:.4g}]"
        + (f"<br>poor fit: {fit.fit.poor_fit}" if poor else "")
        + "<extra></extra>",
    )


def epoch_curves(trials: pd.DataFrame, histories: pd.DataFrame, metric: str) -> go.Figure:
    """The validation metric per epoch, a line per trial coloured by model, a panel per data.n_train."""
    column = f"val_{metric}"
    # Epochs are steps 1, 2, ...; older stores also hold a step 0 copy of the last value.
    curves = histories[histories["step"] >= 1].merge(trials, on="run_id").sort_values(["run_id", "step"])
    curves = curves.rename(columns={"step": "epoch", N_TRAIN: "data.n_train"})
    panels = "data.n_train" if "data.n_train" in curves and curves["data.n_train"].nunique() > 1 else None
    models = sorted(curves["model"].dropna().astype(str).unique())
    figure = px.line(
        curves,
        x="epoch",
        y=column,
        color="model",
        line_group="run_id",
        facet_col=panels,
        facet_col_wrap=3,
        markers=True,
        hover_name="run_name",
        hover_data={"status": True, "run_id": False},
        # Panels by size, smallest first (plotly's default is the order of first appearance).
        category_orders={"model": models, **({panels: sorted(curves[panels].dropna().unique())} if panels else {})},
        color_discrete_map={model: rgb(model) for model in models},
        labels={column: axis_label(column), "epoch": "epoch"},
        template="plotly_white",
    )
    figure.update_xaxes(dtick=1)
    figure.update_layout(
        title=f"{axis_label(column).split(' (')[0].capitalize()} per epoch, every trial ({trials['run_id'].nunique()})",
        height=460,
    )
    return figure


LEVEL = "tags.fidelity_level"


def level_curves(trials: pd.DataFrame, objective: str) -> go.Figure:
    """A fidelity sweep's search as it went: per configuration (Optuna trial), its objective at
    each level it reached (log x), one line each, coloured by model; the last point is a circle
    where the configuration reached the top level and an x where it was stopped below it."""
    column = f"metrics.{objective}"
    levels = trials.dropna(subset=[LEVEL, column]).copy()
    levels["level"] = pd.to_numeric(levels[LEVEL], errors="coerce")
    if "tags.refit" in levels.columns:
        levels = levels[levels["tags.refit"] != "true"]
    top = levels["level"].max()
    figure = go.Figure()
    shown: set[str] = set()
    for _, rows in levels.sort_values("level").groupby("tags.optuna_trial", sort=False):
        model = str(rows["model"].iloc[0])
        reached_top = rows["level"].iloc[-1] >= top
        figure.add_scatter(
            x=rows["level"],
            y=rows[column],
            mode="lines+markers",
            line={"color": rgb(model, 0.7), "width": 1.5},
            marker={
                "color": rgb(model, 0.9),
                "size": [6] * (len(rows) - 1) + [9],
                "symbol": ["circle"] * (len(rows) - 1) + ["circle" if reached_top else "x"],
            },
            name=model,
            legendgroup=model,
            showlegend=model not in shown,
            text=rows["run_name"],
            hovertemplate="%{text}<br>level %{x}: %{y:.4g}<extra></extra>",
        )
        shown.add(model)
    sizes = sorted(levels["level"].unique())
    figure.update_xaxes(type="log", tickvals=sizes, ticktext=[f"{size:,.0f}" for size in sizes], title="level (log scale)")
    figure.update_yaxes(title=axis_label(objective))
    figure.update_layout(
        title=f"{axis_label(objective).split(' (')[0].capitalize()} of each configuration at each level it reached",
        height=520,
        template="plotly_white",
    )
    return figure
