"""A trial's training state after every epoch, so a trial whose process died continues where it was.

Keras's `BackupAndRestore` does the work: after each epoch it saves the weights (optimizer state
included) and the epoch, and the next `fit` with the same folder starts after that epoch. Three
things it leaves to us:

- the random streams of dropout (each layer's `SeedGenerator` state) are model variables but not
  weights, so its weights file leaves them out and a restored trial would draw other dropout
  masks than an uninterrupted one; `TrainingBackup` saves and restores them too, which makes a
  continued deterministic trial end with the same numbers (tests/test_training_backup.py).
- a trial lost after its last epoch but before its results were recorded would, with the backup
  removed at the end of `fit` as Keras does, train again from epoch 1: the backup is kept until
  the trial removes it (`remove_backup`), with the epochs' logs, so a continued trial knows its
  whole history, however few epochs are left to train (none at all, in that case).
- a folder left by another configuration (a trial numbered alike in another sweep's leftovers)
  must not be restored into this one: `claim_backup` keeps it only when its fingerprint matches.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import keras
import numpy as np

_RANDOM_STATE = "random_state.npz"
_HISTORY = "history.json"
_FINGERPRINT = "config.sha256"


class TrainingBackup(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` that also keeps the layers' random streams and the
    epochs' logs.

    `resumed_after_epoch` is the number of epochs the restored backup had completed (0 when
    training started from scratch), `restored_history` their logs. The folder stays when `fit`
    ends: its owner removes it once the results are safe (`remove_backup`).
    """

    def __init__(self, backup_dir: str | Path) -> None:
        super().__init__(backup_dir=str(backup_dir), save_freq="epoch", delete_checkpoint=False)
        self.resumed_after_epoch = 0
        self.restored_history: dict[str, list[float]] = {}
        self._history: dict[str, list[float]] = {}

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        path = Path(self.backup_dir) / _RANDOM_STATE
        if path.is_file():
            saved = np.load(path)
            for index, variable in enumerate(_random_state(self.model)):
                variable.assign(saved[f"v{index}"])
        # Where Keras's own restore tells `fit` to start (the epochs the backup had completed).
        self.resumed_after_epoch = int(self.model._initial_epoch or 0)
        history = Path(self.backup_dir) / _HISTORY
        if self.resumed_after_epoch and history.is_file():
            self.restored_history = json.loads(history.read_text())
        self._history = {name: list(values) for name, values in self.restored_history.items()}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for name, value in (logs or {}).items():
            self._history.setdefault(name, []).append(float(value))
        super().on_epoch_end(epoch, logs)

    def _save_model(self) -> None:
        super()._save_model()
        arrays = {f"v{index}": keras.ops.convert_to_numpy(v) for index, v in enumerate(_random_state(self.model))}
        _write_whole(Path(self.backup_dir) / _RANDOM_STATE, lambda out: np.savez(out, **arrays))
        _write_whole(Path(self.backup_dir) / _HISTORY, lambda out: out.write(json.dumps(self._history).encode()))


def _write_whole(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Written beside `path`, then moved over it: a kill mid-write leaves the last one whole."""
    part = path.with_name(f"{path.name}.part")
    with part.open("wb") as out:
        write(out)
    part.replace(path)


def _random_state(model: keras.Model) -> list:
    """The model's variables that its weights file leaves out: the layers' seed generator states."""
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def claim_backup(folder: Path, fingerprint: str) -> int:
    """Make `folder` this configuration's backup folder: a backup written for another configuration
    is removed (restoring it would train the wrong model on), one for this one is kept. Returns
    the epochs the kept backup holds, which training will continue after (0: none)."""
    marker = folder / _FINGERPRINT
    if folder.exists() and (not marker.is_file() or marker.read_text().strip() != fingerprint):
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    marker.write_text(fingerprint)
    metadata = folder / "training_metadata.json"  # Keras's BackupAndRestore writes it with the weights
    try:
        return int(json.loads(metadata.read_text())["epoch"]) if (folder / "latest.weights.h5").is_file() else 0
    except (OSError, ValueError, KeyError):
        return 0


def config_fingerprint(settings: dict) -> str:
    """A short hash of a trial's resolved settings (what decides which model and data it trains)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def remove_backup(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
