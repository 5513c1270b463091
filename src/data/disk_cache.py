"""Arrays cached on disk under a key of everything they were computed from."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np


def cache_path(cache_dir: str | Path, prefix: str, key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return Path(cache_dir).expanduser() / f"{prefix}-{digest}.npz"


def load_or_compute(path: Path, compute: Callable[[], dict[str, np.ndarray]]) -> tuple[dict[str, np.ndarray], bool]:
    """Return (arrays, was_cached); compute and store them atomically when missing.

    Writing to a temporary file and renaming means an interrupted run never leaves a
    half-written cache entry that a later run would trust.
    """
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {name: stored[name] for name in stored.files}, True
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # corrupt entry: recompute below
    arrays = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(handle)
    try:
        np.savez(tmp_name, **arrays)
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return arrays, False
