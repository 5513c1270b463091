"""No best from a tiny or foreign validation set: `best_among` decides which trials compete."""

from __future__ import annotations

import optuna
import pytest

from hydra_plugins.seqsweep_plugins.engine.best_rule import BestRule, BestSoFar, Candidate, best_so_far
from hydra_plugins.seqsweep_plugins.engine.console import Progress
from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError
from hydra_plugins.seqsweep_plugins.engine.outcome import TrialState
from hydra_plugins.seqsweep_plugins.optuna_sweeper.results import best_trials, describe

RULE = BestRule(size_key="n", set_key="set", min_size=100)


def trial(number, value, n=100, set_="A"):
    return Candidate(number, [value], {"n": n, "set": set_})


def test_a_trial_measured_on_too_few_examples_is_never_the_best():
    tracker = best_so_far(RULE, "maximize", [trial(0, 0.6), trial(1, 1.0, n=2), trial(2, 0.7)])
    assert tracker.best().number == 2


def test_only_trials_of_the_set_most_share_compete():
    tracker = best_so_far(RULE, "maximize", [trial(0, 0.6), trial(1, 0.9, set_="B"), trial(2, 0.7)])
    assert tracker.best().number == 2 and [c.number for c in tracker.eligible()] == [0, 2]


def test_minimize_picks_the_lowest():
    assert best_so_far(RULE, "minimize", [trial(0, 3.0), trial(1, 2.0), trial(2, 4.0)]).best().number == 1


@pytest.mark.parametrize(
    ("candidates", "reason"),
    [
        ([trial(0, 1.0, n=2), trial(1, 0.5, n=20)], "no trial was measured on 100 or more examples (n: 2, 20;"),
        ([trial(0, 0.6, set_="A"), trial(1, 0.7, set_="B")], "the trials were measured on different examples (set differs"),
        ([], "no trial completed"),
    ],
)
def test_when_none_qualifies_it_says_why_instead_of_naming_one(candidates, reason):
    tracker = best_so_far(RULE, "maximize", candidates)
    assert tracker.best() is None and tracker.eligible() == []
    assert tracker.reason().startswith(reason)


def test_one_trial_alone_is_its_own_best_and_no_rule_means_every_trial_counts():
    assert best_so_far(RULE, "maximize", [trial(0, 0.5)]).best().number == 0
    assert best_so_far(BestRule(), "maximize", [trial(0, 0.5, n=1), trial(1, 0.9, n=2, set_="B")]).best().number == 1


def test_the_setting_is_checked_in_one_line():
    assert BestRule.from_setting({"size_key": "n_val", "set_key": "fp", "min_size": 5}) == BestRule("n_val", "fp", 5)
    with pytest.raises(ConfigError, match=r"^hydra.sweeper.best_among.min_size=-1 is not allowed"):
        BestRule.from_setting({"min_size": -1})
    with pytest.raises(ConfigError, match=r"^hydra.sweeper.best_among.size=n is not allowed"):
        BestRule.from_setting({"size": "n"})


def test_the_progress_line_shows_the_size_beside_the_best_or_says_there_is_none():
    progress = Progress(3, "val_acc", "maximize", RULE)
    first = progress.line(["x=1"], TrialState.COMPLETE, 1.0, 1.0, evidence={"n": 2, "set": "A"})
    assert "no best (n<100)" in first and "best val_acc" not in first
    second = progress.line(["x=2"], TrialState.COMPLETE, 0.8123, 1.0, evidence={"n": 2500, "set": "A"})
    assert "best val_acc=0.8123 (n=2500)" in second


def test_the_incremental_best_equals_the_best_of_the_whole_list():
    candidates = [trial(i, (i * 37 % 11) / 10, n=50 + 10 * i, set_="AB"[i % 3 == 0]) for i in range(30)]
    incremental = BestSoFar(RULE, "maximize")
    for candidate in candidates:
        incremental.add(candidate)
    expected = max((c for c in candidates if c.evidence["n"] >= 100 and c.evidence["set"] == "A"), key=lambda c: c.values[0])
    assert incremental.best() == expected


def _study(directions, rows):
    study = optuna.create_study(directions=directions)
    distribution = optuna.distributions.FloatDistribution(0, 1)
    for x, values, n, set_ in rows:
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": x}, distributions={"x": distribution}, values=values, user_attrs={"n": n, "set": set_}
            )
        )
    return study


def test_the_studys_best_and_pareto_front_leave_out_what_the_rule_refuses():
    study = _study(["maximize"], [(0.1, [0.6], 100, "A"), (0.2, [1.0], 2, "A"), (0.3, [0.7], 100, "A")])
    rows, reason = best_trials(study, ["acc"], RULE)
    assert list(rows["trial"]) == [2] and rows.iloc[0]["n"] == 100 and reason is None
    assert "acc=0.7000 (maximize) (n=100)" in describe(rows, ["acc"], ["maximize"], RULE)

    rows, reason = best_trials(_study(["maximize"], [(0.1, [1.0], 2, "A")]), ["acc"], RULE)
    assert rows.empty and describe(rows, ["acc"], ["maximize"], RULE, reason).startswith(
        "[optuna] no best trial: no trial was"
    )

    # (acc up, seconds down): trial 1 would dominate everything, but it was validated on 2 examples.
    pareto = _study(
        ["maximize", "minimize"],
        [(0.1, [0.6, 1.0], 100, "A"), (0.2, [0.9, 0.5], 2, "A"), (0.3, [0.7, 2.0], 100, "A"), (0.4, [0.5, 3.0], 100, "A")],
    )
    rows, _ = best_trials(pareto, ["acc", "seconds"], RULE)
    assert list(rows["trial"]) == [0, 2]
