"""The report's and plots' Pareto fronts use the sweep's own rule: same validation set, enough examples."""

from __future__ import annotations

import pandas as pd

from src.reporting.comparable import comparable


def test_only_trials_of_the_shared_set_with_enough_examples_are_compared():
    trials = pd.DataFrame(
        {
            "start_time": pd.to_datetime([1, 2, 3, 4], unit="s"),
            "metrics.val_acc": [0.6, 1.0, 0.7, 0.9],
            "metrics.n_val": [2500, 2, 2500, 2500],
            "tags.validation_fingerprint": ["a", "a", "a", "b"],
            "params.data.min_val_size": [100, 100, 100, 100],
        }
    )
    mask, reason = comparable(trials, "metrics.val_acc")
    assert list(mask) == [True, False, True, False] and reason is None


def test_tiny_splits_are_not_compared_and_it_says_why():
    trials = pd.DataFrame({"metrics.val_acc": [0.5, 1.0], "metrics.n_val": [2, 20]})
    mask, reason = comparable(trials, "metrics.val_acc")
    assert not mask.any() and reason.startswith("no trial was measured on 100 or more examples (n_val: 2, 20;")


def test_trials_that_recorded_neither_are_all_compared():
    mask, reason = comparable(pd.DataFrame({"metrics.val_acc": [0.5, 0.7]}), "metrics.val_acc")
    assert mask.all() and reason is None
