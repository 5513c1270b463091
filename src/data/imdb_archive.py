"""Read the Large Movie Review Dataset (aclImdb) from a .tar.gz archive or a folder.

Only the labeled reviews ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`` are read;
``train/unsup/``, ``*.feat`` and URL lists are ignored whether present or not.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tarfile
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

OFFICIAL_URL = "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
OFFICIAL_ARCHIVE_NAME = "aclImdb_v1.tar.gz"

_REVIEW_PATH = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


class DataSourceError(RuntimeError):
    """The IMDB source is missing, unreadable or not in the aclImdb layout."""


@dataclass(frozen=True)
class Reviews:
    """Raw labeled reviews of both splits, in a deterministic order (split, label, id)."""

    train_texts: list[str]
    train_labels: np.ndarray
    test_texts: list[str]
    test_labels: np.ndarray


def resolve_source(source: str | None, cache_dir: str | Path) -> Path:
    """Return a local archive or folder path; download the official archive if none given."""
    if source is not None:
        path = Path(source).expanduser()
        if not path.exists():
            raise DataSourceError(
                f"data.source={source!r} does not exist; give an aclImdb .tar.gz archive or "
                "extracted folder, or leave it unset to download the official archive"
            )
        return path.resolve()
    target = Path(cache_dir).expanduser() / OFFICIAL_ARCHIVE_NAME
    if not target.exists():
        download_archive(OFFICIAL_URL, target)
    return target


def download_archive(url: str, target: Path) -> None:
    """Download `url` to `target` with a progress bar; only a complete, readable file is kept."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {target.name}") as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
        if total is not None and partial.stat().st_size != total:
            raise DataSourceError(f"download of {url} stopped at {partial.stat().st_size} of {total} bytes")
        with tarfile.open(partial, "r:gz") as archive:  # a truncated gzip fails here
            for _ in archive:
                pass
    except (OSError, EOFError, tarfile.TarError, DataSourceError) as error:
        partial.unlink(missing_ok=True)
        raise DataSourceError(
            f"could not download the IMDB archive from {url} ({error}); on a machine without "
            "internet pass data.source=/path/to/aclImdb_v1.tar.gz or an extracted aclImdb folder"
        ) from error
    shutil.move(partial, target)


@lru_cache(maxsize=None)
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def source_fingerprint(path: Path) -> str:
    """A key that changes when the source's content changes.

    Archives are hashed (sha256); folders by the names, sizes and modification times of
    their review files, since hashing 50,000 small files costs more than parsing them.
    """
    if path.is_file():
        stat = path.stat()
        return "sha256:" + _file_digest(path, stat.st_size, stat.st_mtime_ns)
    digest = hashlib.sha256()
    for file in sorted(_review_files(path)):
        stat = file.stat()
        digest.update(f"{file.relative_to(path)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return "listing:" + digest.hexdigest()


def read_reviews(path: Path) -> Reviews:
    """Parse every labeled review of an archive or folder."""
    records = _read_archive(path) if path.is_file() else _read_folder(path)
    if not records:
        raise DataSourceError(f"{path} holds no aclImdb/{{train,test}}/{{pos,neg}}/*.txt reviews")
    records.sort(key=lambda record: record[:3])
    splits = {}
    for split in ("train", "test"):
        rows = [r for r in records if r[0] == split]
        if not rows:
            raise DataSourceError(f"{path} has no aclImdb/{split}/ reviews")
        splits[split] = ([r[3] for r in rows], np.array([r[1] for r in rows], dtype=np.int32))
    return Reviews(*splits["train"], *splits["test"])


def _parse_member(name: str) -> tuple[str, int, int] | None:
    match = _REVIEW_PATH.search(name)
    if match is None:
        return None
    split, label, review_id, _rating = match.groups()
    return split, int(label == "pos"), int(review_id)


def _read_archive(path: Path) -> list[tuple[str, int, int, str]]:
    records = []
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in tqdm(archive, desc=f"reading {path.name}", unit=" files", mininterval=2):
                parsed = member.isfile() and _parse_member(member.name)
                if parsed:
                    text = archive.extractfile(member).read().decode("utf-8")
                    records.append((*parsed, text))
    except (tarfile.TarError, OSError, EOFError) as error:
        raise DataSourceError(f"cannot read archive {path}: {error}") from error
    return records


def _review_files(root: Path) -> list[Path]:
    base = root if root.name == "aclImdb" else root / "aclImdb"
    return [f for f in base.glob("*/*/*.txt") if _parse_member(f.as_posix())]


def _read_folder(path: Path) -> list[tuple[str, int, int, str]]:
    return [
        (*_parse_member(file.as_posix()), file.read_text(encoding="utf-8"))
        for file in tqdm(_review_files(path), desc=f"reading {path.name}", unit=" files", mininterval=2)
    ]
