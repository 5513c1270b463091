"""IMDB sentiment task: cached token ids, a seeded class-balanced training subset, full test set."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from src.data.disk_cache import cache_path, load_or_compute
from src.data.imdb_archive import read_reviews, resolve_source, source_fingerprint
from src.data.subsets import balanced_subset, stratified_split
from src.data.task import InputSpec, TaskData, provides_inputs
from src.errors import ConfigError
from src.data.tokenize import fit_vocabulary, to_padded_ids

TOKEN_CACHE_VERSION = 1


@dataclass
class PreparedTokens:
    """Token ids and labels of both splits, shared by every trial of a process.

    `seconds` is what reading (from the disk cache or the source) cost; the first trial
    that uses the arrays reports it in its `data_seconds`, even when config validation
    triggered the preparation, so a cold start is visible in the trial's numbers.
    """

    arrays: dict[str, np.ndarray]
    from_disk_cache: bool
    seconds: float
    charged_to_a_trial: bool = False


@lru_cache(maxsize=8)
def token_arrays(
    source: Path, fingerprint: str, cache_dir: str, num_words: int, maxlen: int, truncating: str, padding: str
) -> PreparedTokens:
    """Token ids and labels of both splits, from memory, the disk cache, or the source.

    `fingerprint` is part of the in-process key so that a changed archive is re-read.
    """
    start = time.perf_counter()
    key = {
        "version": TOKEN_CACHE_VERSION,
        "source": fingerprint,
        "num_words": num_words,
        "maxlen": maxlen,
        "truncating": truncating,
        "padding": padding,
    }

    def compute() -> dict[str, np.ndarray]:
        reviews = read_reviews(source)
        vectorizer = fit_vocabulary(reviews.train_texts, num_words)
        encode = lambda texts: to_padded_ids(vectorizer, texts, maxlen, truncating, padding)  # noqa: E731
        return {
            "x_train": encode(reviews.train_texts),
            "y_train": reviews.train_labels,
            "x_test": encode(reviews.test_texts),
            "y_test": reviews.test_labels,
        }

    arrays, from_disk = load_or_compute(cache_path(cache_dir, "imdb-tokens", key), compute)
    return PreparedTokens(arrays, from_disk, time.perf_counter() - start)


def _prepared(cfg) -> dict[str, np.ndarray]:
    path = resolve_source(cfg.data.source, cfg.data.cache_dir)
    return token_arrays(
        path, source_fingerprint(path), str(cfg.data.cache_dir), cfg.data.num_words, cfg.data.maxlen,
        cfg.data.truncating, cfg.data.padding,
    ).arrays


def _smallest_usable_n_train(validation_split: float) -> int:
    """Fewest reviews that give each class at least one training and one validation review."""
    n = 2
    while True:
        per_class = n // 2
        n_val = int(round(per_class * validation_split))
        if per_class - n_val >= 1 and (validation_split == 0 or n_val >= 1):
            return n
        n += 1


def check_imdb_sizes(cfg) -> None:
    """n_train and n_test must fit the source and leave both classes in training and validation.

    This reads (or loads from cache) the prepared arrays, which the trials need anyway.
    """
    arrays = _prepared(cfg)
    n_train, n_test, split = cfg.data.n_train, cfg.data.n_test, cfg.trainer.validation_split
    available = len(arrays["y_train"])
    if n_train is not None and n_train > available:
        raise ConfigError("data.n_train", n_train, f"at most {available} (the training reviews in data.source), or null for all")
    smallest = _smallest_usable_n_train(split)
    if (n_train if n_train is not None else available) < smallest:
        raise ConfigError(
            "data.n_train", n_train,
            f"at least {smallest}, so that each class has a review in training and in validation "
            f"(trainer.validation_split={split})",
        )
    if n_test is not None and n_test > len(arrays["y_test"]):
        raise ConfigError("data.n_test", n_test, f"at most {len(arrays['y_test'])} (the test reviews), or null for all")


@provides_inputs("token_ids", check_sizes=check_imdb_sizes)
def load_imdb(
    *,
    name: str,
    loss: str,
    source: str | None,
    cache_dir: str,
    num_words: int,
    maxlen: int,
    truncating: str,
    padding: str,
    n_train: int | None,
    n_test: int | None,
    seed: int,
    validation_split: float,
) -> TaskData:
    """Build one trial's IMDB data.

    The training subset of `n_train` reviews is class-balanced and drawn with `seed`;
    validation is split off that subset. Test metrics use the whole test split unless
    `n_test` asks for a (balanced, seeded) subset.
    """
    start = time.perf_counter()
    path = resolve_source(source, cache_dir)
    lookup_start = time.perf_counter()
    prepared = token_arrays(path, source_fingerprint(path), str(cache_dir), num_words, maxlen, truncating, padding)
    lookup_seconds = time.perf_counter() - lookup_start
    arrays = prepared.arrays
    rng = np.random.default_rng(seed)
    y_train_all, y_test_all = arrays["y_train"], arrays["y_test"]
    chosen = balanced_subset(y_train_all, n_train or len(y_train_all), rng)
    train_idx, val_idx = stratified_split(chosen, y_train_all, validation_split, rng)
    test_idx = (
        balanced_subset(y_test_all, n_test, rng) if n_test else np.arange(len(y_test_all))
    )
    return TaskData(
        name=name,
        spec=InputSpec(kind="token_ids", sequence_length=maxlen, vocab_size=num_words),
        loss=loss,
        x_train=arrays["x_train"][train_idx],
        y_train=y_train_all[train_idx],
        x_val=arrays["x_train"][val_idx],
        y_val=y_train_all[val_idx],
        x_test=arrays["x_test"][test_idx],
        y_test=y_test_all[test_idx],
        info={
            # The lookup is replaced by the preparation cost, charged once per process.
            "data_seconds": time.perf_counter() - start - lookup_seconds + _charge(prepared),
            "data_cache_hit": prepared.from_disk_cache,
            "source": str(path),
        },
    )


def _charge(prepared: PreparedTokens) -> float:
    """The shared preparation time, for the first trial only (it may have run before this call)."""
    if prepared.charged_to_a_trial:
        return 0.0
    prepared.charged_to_a_trial = True
    return prepared.seconds
