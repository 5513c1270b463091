"""report.html from constructed sweeps: every section is drawn or says why in one line; importance
finds the one setting that decides the value; the page is self-contained and opens in Chromium
without a console message.

The sweeps are built in memory (a trials table as `tidy_trials` makes it, summarized by
`seed_summary`), so the numbers are known; tests/test_export.py opens the report of a real sweep.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from optuna.distributions import IntDistribution

from src.reporting.html_report import FILE_NAME, html_report, write_html_report
from src.reporting.learning_fit import fit_lines
from src.reporting.report import SweepReport
from src.reporting.seed_summary import seed_summary
from src.reporting.study import as_study, param_importances

SECRET = "postgresql://sweeper:hunter2@db.example/optuna"
SECTIONS = ["results", "comparisons", "learning-curves", "importance", "parallel", "epochs", "pareto", "trials"]
# Accuracy by model; more data helps along a power law, error = 0.6 * n^-0.2 for gru.
BASE_ERROR = {"gru": 0.6, "lstm": 0.7}


def trial_rows(models=("gru", "lstm"), sizes=(100, 200, 400), seeds=(1, 2, 3), noise=0.005) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for model in models:
        for n_train in sizes:
            for seed in seeds:
                accuracy = 1 - BASE_ERROR[model] * n_train**-0.2 + rng.normal(0, noise)
                rows.append(
                    {
                        "run_id": f"{model}-{n_train}-{seed}",
                        "run_name": f"{model} n_train={n_train} #{len(rows)}",
                        "status": "FINISHED",
                        "model": model,
                        "error": np.nan,
                        "pruned_at_epoch": pd.NA,
                        "params.model.name": model,
                        "params.data.n_train": n_train,
                        "params.trainer.seed": seed,
                        "params.data.primary_metric": "acc",
                        "metrics.test_acc": round(accuracy, 4),
                        "metrics.val_acc": round(accuracy - 0.01, 4),
                        "metrics.fit_seconds": round(n_train / 50 + seed / 10 + (1 if model == "lstm" else 0), 2),
                        "metrics.epochs_run": 2,
                    }
                )
    return rows


def constructed(rows: list[dict], objectives: list[tuple[str, str]] | None = None) -> SweepReport:
    trials = pd.DataFrame(rows)
    trials["pruned_at_epoch"] = trials["pruned_at_epoch"].astype("Int64")
    history = pd.DataFrame(
        [
            {"run_id": row["run_id"], "step": epoch, "val_acc": row["metrics.val_acc"] - 0.05 / epoch}
            for row in rows
            for epoch in (1, 2)
        ]
    )
    return SweepReport("0123abcd", "acc", trials, seed_summary(trials), history, objectives or [("val_acc", "maximize")])


def section(page: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', page, flags=re.DOTALL)
    assert match, f"no section {name}"
    return match.group(1)


def reason(page: str, name: str) -> str | None:
    """The section's one line saying why it has no figure, or None."""
    found = re.findall(r'<p class="why">(.*?)</p>', section(page, name))
    return found[0] if found else None


@pytest.fixture(scope="module")
def full_page() -> str:
    return html_report(constructed(trial_rows()))


def test_one_setting_that_alone_decides_the_value_gets_nearly_all_the_importance():
    rows = [
        {
            "status": "FINISHED",
            "pruned_at_epoch": pd.NA,
            "run_name": f"{model} {rate} {seed}",
            "model": model,
            "params.model.name": model,
            "params.optimizer.learning_rate": rate,
            "params.data.maxlen": maxlen,
            "params.trainer.seed": seed,
            "metrics.val_acc": {"gru": 0.81, "lstm": 0.74, "simplernn": 0.62}[model],
        }
        for model in ("gru", "lstm", "simplernn")
        for rate in (0.001, 0.003, 0.01)
        for maxlen in (50, 100)
        for seed in (1, 2)
    ]
    importances = param_importances(pd.DataFrame(rows), "metrics.val_acc")
    assert set(importances) == {"model", "optimizer.learning_rate", "data.maxlen", "trainer.seed"}
    assert importances["model"] >= 0.9, importances


def test_twenty_seeds_are_one_int_range_so_importance_takes_seconds_not_hours():
    # As a categorical of 20 values the seed made Optuna's fANOVA run for over 5 minutes.
    rows = [
        {
            "status": "FINISHED",
            "pruned_at_epoch": pd.NA,
            "run_name": f"{model} {seed}",
            "model": model,
            "params.model.name": model,
            "params.trainer.seed": seed,
            "metrics.val_acc": (0.8 if model == "gru" else 0.7) + 0.001 * (seed % 3),
        }
        for model in ("gru", "lstm")
        for seed in range(1, 21)
    ]
    trials = pd.DataFrame(rows).astype({"params.trainer.seed": "Int64"})  # as the trials table types it
    study = as_study(trials, [("metrics.val_acc", "maximize")])
    assert study.trials[0].distributions["trainer.seed"] == IntDistribution(1, 20)
    importances = param_importances(trials, "metrics.val_acc")
    assert importances["model"] >= 0.9, importances


def test_a_grid_sweep_gets_every_section_drawn(full_page):
    for name in SECTIONS:
        assert reason(full_page, name) is None, (name, reason(full_page, name))
    for name in ("learning-curves", "importance", "parallel", "epochs", "pareto"):
        assert f'id="{name}-plot"' in section(full_page, name), name


def test_the_result_table_shows_means_with_intervals_and_the_comparisons_their_flags(full_page):
    results = section(full_page, "results")
    assert "<th>test_acc mean [95% interval]</th>" in results and re.search(r"<td>0\.\d+ \[0\.\d+, 0\.\d+\]</td>", results)
    comparisons = section(full_page, "comparisons")
    assert "<th>beyond_seed_noise</th>" in comparisons and "<td>yes</td>" in comparisons, "gru is better than lstm by 0.03"


def test_each_line_gets_a_power_law_that_recovers_the_exponent_and_predicts_at_ten_times():
    report = constructed(trial_rows(noise=1e-4))
    fits = fit_lines(report.summary, report.trials, "acc")
    assert [fit.name for fit in fits] == ["gru", "lstm"]
    for fit in fits:
        assert fit.fit.poor_fit is None and fit.fit.exponent == pytest.approx(0.2, abs=0.01)
        size, value, low, high = fit.prediction("acc")
        truth = 1 - BASE_ERROR[fit.model] * 4000**-0.2
        assert size == 4000 and value == pytest.approx(truth, abs=1e-3) and low <= value <= high
    page = html_report(report)
    assert "test_acc at n=4,000" in section(page, "learning-curves") and "good fit" in section(page, "learning-curves")


def test_a_curve_of_two_sizes_is_flagged_as_a_poor_fit():
    page = html_report(constructed(trial_rows(sizes=(100, 400))))
    assert "poor fit: 2 training-set sizes" in section(page, "learning-curves")


def test_a_one_trial_sweep_says_why_it_has_no_intervals_and_why_each_missing_section_is_missing():
    page = html_report(constructed(trial_rows(models=("gru",), sizes=(100,), seeds=(1,))))
    assert reason(page, "results").startswith("No intervals: every combination has one completed trial")
    assert reason(page, "comparisons").startswith("No comparisons: no two values of a setting share 2 or more seeds")
    assert reason(page, "learning-curves") == "No learning curve: data.n_train does not vary between completed trials."
    assert reason(page, "importance") == "No importance: fewer than 2 completed trials have val_acc."
    assert reason(page, "parallel") == "No parallel coordinates: fewer than 2 completed trials have val_acc."
    assert reason(page, "epochs") is None and reason(page, "pareto") is None, "one trial still has a curve and a front"
    assert reason(page, "trials") is None and section(page, "trials").count("</tr>") == 2  # header, trial


def test_a_sweep_whose_trials_all_failed_says_why_in_every_section_and_masks_their_errors():
    failed = {"status": "FAILED", "error": f"store down: {SECRET}", "metrics.test_acc": np.nan, "metrics.val_acc": np.nan}
    report = constructed([{**row, **failed} for row in trial_rows(models=("gru",), sizes=(100, 200), seeds=(1,))])
    report.val_history = report.val_history.iloc[0:0]
    page = html_report(report)
    assert reason(page, "results") == "No result: no trial completed (every trial failed or was pruned)."
    assert reason(page, "importance") == "No importance: fewer than 2 completed trials have val_acc."
    assert reason(page, "epochs") == "No per-epoch curves: no trial logged val_acc per epoch."
    assert reason(page, "pareto") == "No Pareto front: no trial completed."
    assert all(reason(page, name) for name in SECTIONS if name != "trials")
    assert "hunter2" not in page and "sweeper:***@db.example" in section(page, "trials")


def test_a_sweep_whose_settings_do_not_vary_says_so_for_importance():
    page = html_report(constructed(trial_rows(models=("gru",), sizes=(100,))))
    assert reason(page, "importance") is None, "the seed varies: its share is what there is to show"
    rows = [{**row, "params.trainer.seed": 1} for row in trial_rows(models=("gru",), sizes=(100,), seeds=(1,))] * 2
    rows = [{**row, "run_id": f"r{i}", "metrics.val_acc": 0.5 + i / 10} for i, row in enumerate(rows)]
    page = html_report(constructed(rows))
    assert reason(page, "importance") == "No importance: no setting varies between completed trials."


def test_a_two_objective_sweep_draws_its_own_pareto_front(full_page):
    assert "val_acc (maximize) against fit_seconds (minimize)" in section(full_page, "pareto")
    page = html_report(constructed(trial_rows(), objectives=[("val_acc", "maximize"), ("epochs_run", "minimize")]))
    assert "val_acc (maximize) against epochs_run (minimize)" in section(page, "pareto")


def test_the_page_is_self_contained_with_plotly_js_once(tmp_path):
    path = write_html_report(constructed(trial_rows()), tmp_path)
    text = path.read_text()
    assert path.name == FILE_NAME
    assert text.count("* plotly.js v") == 1, "plotly.js inlined once, for every figure"
    # Nothing fetched from the net (plotly.js itself names a CDN only for geographic maps' shapes).
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", text)
    assert text.count('class="plotly-graph-div"') == 5


@pytest.mark.slow  # a Chromium start each (about 6 s)
def test_the_console_check_sees_a_script_error(page_console, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>notAFunction();</script></body></html>")
    lines, _ = page_console(page)
    assert len(lines) == 1 and "Uncaught ReferenceError: notAFunction is not defined" in lines[0]


@pytest.mark.slow  # a Chromium start each (about 6 s)
def test_the_report_opens_in_chromium_silently_draws_its_plots_and_sorts_on_a_click(page_console, tmp_path):
    text = write_html_report(constructed(trial_rows()), tmp_path / "out").read_text()
    # A user's click on the trials table's test_acc header, after the page's own scripts ran.
    click = "<script>[...document.querySelectorAll('#trials th')].find((h) => h.textContent === 'test_acc').click();</script>"
    clicked = tmp_path / "clicked.html"
    clicked.write_text(text.replace("</body>", click + "</body>"))
    lines, dom = page_console(clicked)
    assert lines == []
    assert dom.count('class="plotly-graph-div js-plotly-plot"') == 5, "plotly drew every figure"
    trials = section(dom, "trials")
    header = re.findall(r"<th[^>]*>(.*?)</th>", trials)
    rows = re.findall(r"<tr>(.*?)</tr>", trials, flags=re.DOTALL)
    values = [float(re.findall(r"<td>(.*?)</td>", row)[header.index("test_acc")]) for row in rows]
    assert len(values) == 18 and values == sorted(values)
