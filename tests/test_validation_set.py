"""One validation set per sweep: the same examples for every trial, nested training subsets beside it."""

from __future__ import annotations

import numpy as np
import pytest

from src.data.binary_addition import load_binary_addition
from src.data.iris import load_iris
from src.data.regression import load_regression
from src.data.validation_set import ValidationMode, ValidationPlan, check_fixed_sizes, draw, fixed_split
from src.errors import ConfigError
from tests.fixtures.imdb_loader import load_small_imdb

FIXED = ValidationPlan(ValidationMode.FIXED, size=100, seed=7)
# 600 examples, two classes of unequal size, so balance is a property of the draw, not of the data.
LABELS = np.array([0] * 350 + [1] * 250)


def split(n_train, seed, plan=FIXED):
    return fixed_split(LABELS, n_train, plan, np.random.default_rng(seed))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fixed_subsets_of_one_seed_are_nested_and_never_touch_the_validation_set(seed):
    sizes = [10, 30, 100, 300, 400]
    subsets = [set(split(n, seed).train) for n in sizes]
    validation = set(split(10, seed).validation)
    for smaller, larger in zip(subsets, subsets[1:]):
        assert smaller < larger
    for subset, size in zip(subsets, sizes):
        assert len(subset) == size and not subset & validation
        assert abs(np.sum(LABELS[list(subset)] == 0) - size / 2) <= 0.5  # class-balanced


def test_the_fixed_set_is_the_same_for_every_size_and_seed_and_balanced():
    sets = {tuple(split(n, seed).validation) for n in (10, 200, None) for seed in (0, 1, 5)}
    assert len(sets) == 1
    validation = np.array(sets.pop())
    assert len(validation) == 100 and np.sum(LABELS[validation] == 0) == 50
    other_seed = ValidationPlan(ValidationMode.FIXED, size=100, seed=8)
    assert set(split(10, 0, other_seed).validation) != set(validation)


def test_all_means_every_example_outside_the_validation_set():
    for n_train in (None, len(LABELS)):
        drawn = split(n_train, 3)
        assert sorted([*drawn.train, *drawn.validation]) == list(range(len(LABELS)))


def test_the_default_size_is_a_fifth_of_a_small_source_and_at_most_2500():
    plan = ValidationPlan(ValidationMode.FIXED)
    assert plan.fixed_size(500) == 100 and plan.fixed_size(25_000) == 2500 and plan.fixed_size(None) == 2500


def test_split_mode_is_a_held_out_share_of_each_trials_subset():
    plan = ValidationPlan(ValidationMode.SPLIT, split=0.2)
    drawn = draw(LABELS, 100, plan, np.random.default_rng(0))
    assert len(drawn.train) == 80 and len(drawn.validation) == 20 and not set(drawn.train) & set(drawn.validation)


@pytest.mark.parametrize(
    ("n_train", "size", "named"),
    [
        (1, 100, "data.n_train=1"),  # fewer than one per class
        (460, 100, "data.n_train=460"),  # more than the examples outside the set
        (410, 100, "data.n_train=410"),  # 205 of class 1, but only 200 of it are outside the set
        (10, 1, "trainer.validation_size=1"),
        (10, 500, "trainer.validation_size=500"),  # leaves class 1 no training example
    ],
)
def test_sizes_that_do_not_fit_are_refused_in_one_line(n_train, size, named):
    with pytest.raises(ConfigError) as refused:
        check_fixed_sizes(LABELS, n_train, ValidationPlan(ValidationMode.FIXED, size=size), "reviews")
    assert str(refused.value).startswith(f"{named} is not allowed: ") and "\n" not in str(refused.value)


def test_sizes_that_fit_pass():
    for n_train in (2, 300, 400, None, len(LABELS)):
        check_fixed_sizes(LABELS, n_train, FIXED, "reviews")


def test_imdb_trials_of_any_size_and_seed_share_one_fingerprinted_validation_set(mini_archive, cache_dir):
    trials = [load_small_imdb(mini_archive, cache_dir, n_train=n, seed=seed) for n in (10, 100) for seed in (0, 1)]
    assert {trial.info["validation_fingerprint"] for trial in trials} == {trials[0].info["validation_fingerprint"]}
    for trial in trials:
        np.testing.assert_array_equal(trial.x_val, trials[0].x_val)
    assert [trial.sizes["n_train"] for trial in trials] == [10, 10, 100, 100]
    whole = load_small_imdb(mini_archive, cache_dir)  # the mini archive's 500 training reviews: 100 validate
    assert whole.sizes == {"n_train": 400, "n_val": 100, "n_test": 500}
    other = load_small_imdb(mini_archive, cache_dir, validation=ValidationPlan(seed=1))
    assert other.info["validation_fingerprint"] != whole.info["validation_fingerprint"]


def test_generated_tasks_validate_on_one_set_and_nest_their_training_examples():
    plan = ValidationPlan(ValidationMode.FIXED, size=50, seed=0)
    common = dict(name="binary_addition", loss="mse", bits=8, n_test=40, seed=1, validation=plan)
    small, large = load_binary_addition(n_train=100, **common), load_binary_addition(n_train=5000, **common)
    np.testing.assert_array_equal(small.x_train, large.x_train[:100])
    assert small.info["validation_fingerprint"] == large.info["validation_fingerprint"] and small.sizes["n_val"] == 50
    validation_pairs = {row.tobytes() for row in small.x_val}
    assert not validation_pairs & {row.tobytes() for row in large.x_train}
    np.testing.assert_array_equal(small.x_test, large.x_test)  # the test pairs do not depend on n_train

    common = dict(
        name="regression", loss="mse", primary_metric="mse", function="linear", noise=0.5, x_range=(-1, 1), n_test=20
    )
    first = load_regression(n_train=30, seed=2, validation=plan, **common)
    more = load_regression(n_train=300, seed=2, validation=plan, **common)
    np.testing.assert_array_equal(first.y_train, more.y_train[:30])
    np.testing.assert_array_equal(first.x_val, more.x_val)


def test_iris_validates_every_seed_on_the_same_flowers_apart_from_its_test_flowers():
    common = dict(name="iris", loss="sparse_categorical_crossentropy", primary_metric="acc", n_test=30, standardize=False)
    trials = [load_iris(seed=seed, validation=ValidationPlan(), **common) for seed in (0, 1)]
    assert trials[0].info["validation_fingerprint"] == trials[1].info["validation_fingerprint"]
    assert trials[0].sizes == {"n_train": 96, "n_val": 24, "n_test": 30}
    from sklearn.datasets import load_iris as bundled_iris

    every_flower = sorted(row.tobytes() for row in bundled_iris().data.astype(np.float32))
    for trial in trials:  # the three sets partition the flowers (iris has duplicate rows, so compare as lists)
        np.testing.assert_array_equal(trial.x_val, trials[0].x_val)
        parts = [*trial.x_train, *trial.x_val, *trial.x_test]
        assert sorted(row.tobytes() for row in parts) == every_flower
    assert {row.tobytes() for row in trials[0].x_test} != {row.tobytes() for row in trials[1].x_test}
