"""The IMDB loader: layouts, tokenization, subsets, caching and download failures."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from src.data.imdb import token_arrays
from src.data.imdb_archive import DataSourceError, download_archive, read_reviews
from src.data.validation_set import ValidationMode, ValidationPlan
from tests.fixtures.imdb_loader import load_small_imdb


def load(source, cache_dir, **overrides):
    """These tests were written for the split of each subset: `split` mode unless a test says otherwise."""
    return load_small_imdb(source, cache_dir, **{"validation": ValidationPlan(ValidationMode.SPLIT, split=0.2), **overrides})


@pytest.fixture(scope="module")
def extracted(tmp_path_factory, mini_archive) -> Path:
    """The mini archive extracted, plus the unlabeled reviews and .feat files the official archive has."""
    root = tmp_path_factory.mktemp("extracted")
    with tarfile.open(mini_archive) as archive:
        archive.extractall(root, filter="data")
    unsup = root / "aclImdb" / "train" / "unsup"
    unsup.mkdir()
    (unsup / "0_0.txt").write_text("an unlabeled review that must be ignored")
    (root / "aclImdb" / "train" / "labeledBow.feat").write_text("0 0:1\n")
    return root


def test_whole_split_sizes_and_balance(mini_archive, cache_dir):
    data = load(mini_archive, cache_dir)
    assert data.sizes == {"n_train": 400, "n_val": 100, "n_test": 500}
    assert data.y_train.mean() == 0.5 and data.y_val.mean() == 0.5 and data.y_test.mean() == 0.5
    assert data.x_train.shape == (400, 20) and data.x_train.dtype == np.int32
    assert data.x_train.max() < 2000


def test_small_subset_is_balanced_seeded_and_tested_on_everything(mini_archive, cache_dir):
    first = load(mini_archive, cache_dir, n_train=10, seed=3)
    again = load(mini_archive, cache_dir, n_train=10, seed=3)
    other = load(mini_archive, cache_dir, n_train=10, seed=4)
    assert first.sizes == {"n_train": 8, "n_val": 2, "n_test": 500}
    assert sorted(first.y_val) == [0, 1] and first.y_train.sum() == 4
    np.testing.assert_array_equal(first.x_train, again.x_train)
    assert not np.array_equal(first.x_train, other.x_train)


def test_explicit_test_subset(mini_archive, cache_dir):
    assert load(mini_archive, cache_dir, n_test=100).sizes["n_test"] == 100


def test_truncation_side_keeps_last_or_first_tokens(mini_archive, cache_dir):
    untruncated = load(mini_archive, cache_dir, maxlen=3000).x_test
    long_review = int(np.argmax((untruncated > 0).sum(axis=1)))
    last10 = load(mini_archive, cache_dir, maxlen=10, truncating="pre").x_test[long_review]
    first10 = load(mini_archive, cache_dir, maxlen=10, truncating="post").x_test[long_review]
    full = untruncated[long_review][untruncated[long_review] > 0]
    np.testing.assert_array_equal(last10, full[-10:])
    np.testing.assert_array_equal(first10, full[:10])


def test_padding_goes_before_short_reviews_by_default(mini_archive, cache_dir):
    x = load(mini_archive, cache_dir, maxlen=2000).x_test
    assert (x[:, 0] == 0).any() and (x[:, -1] != 0).all()


def test_folder_source_matches_archive_and_ignores_unlabeled(extracted, mini_archive, cache_dir):
    from_folder = load(extracted, cache_dir)
    from_archive = load(mini_archive, cache_dir)
    np.testing.assert_array_equal(from_folder.x_test, from_archive.x_test)
    reviews = read_reviews(extracted)
    assert len(reviews.train_texts) == 500 and len(reviews.test_texts) == 500


def test_prepared_arrays_come_from_disk_in_a_new_process(mini_archive, tmp_path):
    assert load(mini_archive, tmp_path).info["data_cache_hit"] is False
    token_arrays.cache_clear()  # what a new process starts with
    assert load(mini_archive, tmp_path).info["data_cache_hit"] is True
    assert len(list(tmp_path.glob("imdb-tokens-*.npz"))) == 1
    load(mini_archive, tmp_path, maxlen=21)
    assert len(list(tmp_path.glob("imdb-tokens-*.npz"))) == 2, "maxlen is part of the cache key"


def test_missing_source_names_the_key(tmp_path):
    with pytest.raises(DataSourceError, match="data.source"):
        load(tmp_path / "nowhere.tar.gz", tmp_path)


def test_folder_without_reviews_is_refused(tmp_path):
    (tmp_path / "aclImdb").mkdir()
    with pytest.raises(DataSourceError, match="no aclImdb"):
        load(tmp_path, tmp_path)


def test_broken_download_leaves_nothing_behind(mini_archive, tmp_path):
    truncated = tmp_path / "server" / "aclImdb_v1.tar.gz"
    truncated.parent.mkdir()
    content = mini_archive.read_bytes()
    truncated.write_bytes(content[: len(content) // 2])
    target = tmp_path / "cache" / "aclImdb_v1.tar.gz"
    with pytest.raises(DataSourceError, match="data.source="):
        download_archive(truncated.as_uri(), target)
    assert list(target.parent.iterdir()) == []


def test_complete_download_is_kept(mini_archive, tmp_path):
    served = tmp_path / "server.tar.gz"
    shutil.copy(mini_archive, served)
    target = tmp_path / "cache" / "aclImdb_v1.tar.gz"
    download_archive(served.as_uri(), target)
    assert target.read_bytes() == mini_archive.read_bytes()
