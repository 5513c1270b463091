"""Arrays cached on disk under a key of everything they were computed from.

A cache entry is only ever a complete file: it is written to a temporary file in the same
folder and renamed over the entry (`os.replace`, atomic on one file system), so a run that
is killed or runs out of disk mid-write leaves no half-written entry. An entry damaged
anyway (truncated, garbled or emptied by hand or by a broken disk) is detected on read,
removed and rebuilt, with one warning line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def cache_path(cache_dir: str | Path, prefix: str, key: dict[str, Any]) -> Path:
    """The entry for `key` (hashed, so any JSON-able key gives a short, stable file name)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return Path(cache_dir).expanduser() / f"{prefix}-{digest}.npz"


def _read(path: Path) -> dict[str, np.ndarray]:
    # Every member is read in full here, so the zip CRC of each is checked now and a
    # damaged entry cannot surface later as a traceback in the middle of training.
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    if not arrays:
        raise ValueError("no arrays in the file")
    return arrays


def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp.npz")
    os.close(handle)
    try:
        np.savez(tmp_name, **arrays)
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def load_or_compute(path: Path, compute: Callable[[], dict[str, np.ndarray]]) -> tuple[dict[str, np.ndarray], bool]:
    """Return (arrays, was_cached); compute and store them atomically when missing or damaged.

    A cache is an optimisation, never a reason for a run to fail: a damaged entry is
    rebuilt, and an entry that cannot be written (full disk, read-only folder) is skipped
    with a warning, the computed arrays are still returned.
    """
    if path.exists():
        try:
            return _read(path), True
        # np.load parses each array's header with `ast`, so garbage can raise nearly anything
        # (BadZipFile for a cut or CRC-failing zip, EOFError for an empty file, ValueError,
        # SyntaxError, tokenize.TokenError, MemoryError for a garbled header). Whatever it
        # is, the entry is unusable and rebuilding it is the cure; the warning names it.
        except Exception as error:  # noqa: BLE001
            reason = " ".join(f"{type(error).__name__}: {error}".split())  # one line, whatever the error says
            log.warning("cache file %s is damaged (%s); rebuilding it", path, reason)
            with contextlib.suppress(OSError):  # a read-only cache folder: the write below warns
                path.unlink(missing_ok=True)
    arrays = compute()
    try:
        _write(path, arrays)
    except OSError as error:
        log.warning("could not write cache file %s (%s); going on without it", path, error.strerror or error)
    return arrays, False
