"""A trial's training state after every epoch, so a trial whose process died continues where it was.

Keras's `BackupAndRestore` does the work: after each epoch it saves the weights (optimizer state
included) and the epoch, and the next `fit` with the same folder starts after that epoch. Four
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
- Keras writes its weights file in place, so a process killed while writing it leaves a file no
  one can read (h5py: "bad object header version"), and its metadata file may then name an epoch
  the weights do not hold. Each epoch's backup is therefore written whole into a folder of its own
  (`epoch-0003.part`), renamed to `epoch-0003` once complete (a rename is atomic, on a shared
  folder too), and the older one removed: the newest complete folder is always a whole,
  consistent backup, whenever the process dies. Keras's own save and load run unchanged, pointed
  at that folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import keras
import numpy as np

_RANDOM_STATE = "random_state.npz"
_HISTORY = "history.json"
_FINGERPRINT = "config.sha256"
_EPOCH_FOLDER = re.compile(r"epoch-(\d+)")
_PART = ".part"


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
        latest = latest_epoch_folder(Path(self.backup_dir))
        if latest is not None:
            self._point_at(latest)
            super().on_train_begin(logs)  # Keras restores the weights and the epoch to start after
            path = latest / _RANDOM_STATE
            if path.is_file():
                saved = np.load(path)
                for index, variable in enumerate(_random_state(self.model)):
                    variable.assign(saved[f"v{index}"])
        # Where Keras's own restore tells `fit` to start (the epochs the backup had completed).
        self.resumed_after_epoch = int(self.model._initial_epoch or 0) if latest is not None else 0
        history = latest / _HISTORY if latest is not None else None
        if self.resumed_after_epoch and history is not None and history.is_file():
            self.restored_history = json.loads(history.read_text())
        self._history = {name: list(values) for name, values in self.restored_history.items()}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for name, value in (logs or {}).items():
            self._history.setdefault(name, []).append(float(value))
        super().on_epoch_end(epoch, logs)

    def _save_model(self) -> None:
        root = Path(self.backup_dir)
        done = root / _epoch_folder_name(self._current_epoch)
        part = done.with_name(done.name + _PART)
        shutil.rmtree(part, ignore_errors=True)  # left by a process killed while writing it
        part.mkdir(parents=True)
        self._point_at(part)
        super()._save_model()  # Keras's weights (optimizer included) and epoch
        arrays = {f"v{index}": keras.ops.convert_to_numpy(v) for index, v in enumerate(_random_state(self.model))}
        with (part / _RANDOM_STATE).open("wb") as out:
            np.savez(out, **arrays)
        (part / _HISTORY).write_text(json.dumps(self._history))
        shutil.rmtree(done, ignore_errors=True)
        part.rename(done)  # the moment this epoch's backup becomes the one a rerun restores
        for older in root.iterdir():
            if older != done and _EPOCH_FOLDER.fullmatch(older.name.removesuffix(_PART)):
                shutil.rmtree(older, ignore_errors=True)

    def _point_at(self, folder: Path) -> None:
        """Keras's save and load use these paths: this epoch's folder."""
        self._weights_path = str(folder / "latest.weights.h5")
        self._training_metadata_path = str(folder / "training_metadata.json")
        self._prev_weights_path = f"{self._weights_path}.bkp"
        self._prev_training_metadata_path = f"{self._training_metadata_path}.bkp"


def _epoch_folder_name(epoch: int) -> str:
    return f"epoch-{epoch:04d}"


def latest_epoch_folder(folder: Path) -> Path | None:
    """The newest complete epoch backup in a trial's backup folder (None: none yet)."""
    if not folder.is_dir():
        return None
    complete = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _EPOCH_FOLDER.fullmatch(p.name)) and p.is_dir()]
    return max(complete)[1] if complete else None


def backed_up_epochs(folder: Path) -> int:
    """The epochs the backup in `folder` holds (0: none)."""
    latest = latest_epoch_folder(folder)
    return int(_EPOCH_FOLDER.fullmatch(latest.name).group(1)) if latest is not None else 0


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
    return backed_up_epochs(folder)


def config_fingerprint(settings: dict) -> str:
    """A short hash of a trial's resolved settings (what decides which model and data it trains)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def remove_backup(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
