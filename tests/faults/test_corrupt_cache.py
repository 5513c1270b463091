"""A damaged cache file is removed and rebuilt with one warning line, never a traceback.

The cache files are real ones, written by the IMDB loader on the mini archive; each is then
truncated, garbled or emptied, as a full disk, a killed copy or a broken disk leave them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from src.data.imdb import load_imdb, review_texts, token_arrays
from src.data.task import InputRequest
from src.data.validation_set import ValidationMode, ValidationPlan


def load(source: Path, cache_dir: Path, inputs: InputRequest | None = None):
    return load_imdb(
        name="imdb",
        loss="binary_crossentropy",
        source=str(source),
        cache_dir=str(cache_dir),
        num_words=500,
        maxlen=10,
        truncating="pre",
        padding="pre",
        n_train=40,
        n_test=20,
        seed=0,
        validation=ValidationPlan(ValidationMode.SPLIT, split=0.25),
        inputs=inputs,
    )


def forget_in_process_copies() -> None:
    """What a new process would see: nothing in memory, only the disk cache."""
    token_arrays.cache_clear()
    review_texts.cache_clear()


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes((b + 97) % 256 for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


def empty(path: Path) -> None:
    path.write_bytes(b"")


DAMAGES = [truncate, garble, empty]


@pytest.fixture()
def fresh_cache(tmp_path: Path) -> Path:
    forget_in_process_copies()
    yield tmp_path / "cache"
    forget_in_process_copies()


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("prefix", "inputs"), [("imdb-tokens", None), ("imdb-reviews", InputRequest("text"))])
def test_damaged_cache_file_is_rebuilt_with_one_warning(mini_archive, fresh_cache, caplog, damage, prefix, inputs):
    first = load(mini_archive, fresh_cache, inputs)
    assert first.info["data_cache_hit"] is False
    (entry,) = fresh_cache.glob(f"{prefix}-*.npz")
    damage(entry)
    forget_in_process_copies()

    with caplog.at_level(logging.WARNING):
        again = load(mini_archive, fresh_cache, inputs)

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert str(entry) in warnings[0].getMessage() and "rebuilding" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()
    np.testing.assert_array_equal(again.x_train, first.x_train)
    np.testing.assert_array_equal(again.y_test, first.y_test)
    # Rebuilt in place, complete, and no temporary file left beside it.
    assert sorted(p.name for p in fresh_cache.iterdir()) == sorted(p.name for p in fresh_cache.glob("*.npz"))
    forget_in_process_copies()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        third = load(mini_archive, fresh_cache, inputs)
    assert third.info["data_cache_hit"] is True
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
