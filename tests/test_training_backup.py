"""A trial backs up its training state after every epoch; one that died continues from its last epoch.

The Ray test of the whole path (a killed worker's trial continues in its rerun) is in
tests/faults/test_lost_trial_continues.py; here the pieces: the training continued from a
backup ends with the numbers of an uninterrupted one, a leftover backup of another configuration
is not restored, and where a sweep's trial keeps its backup.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from hydra_plugins.seqsweep_plugins import JobContext
from src.training.backup import TrainingBackup, backed_up_epochs, claim_backup, config_fingerprint
from src.training.trainer import train
from src.trial import backup_folder

CONF = Path(__file__).resolve().parents[1] / "conf"


class _DiesAtEpoch(keras.callbacks.Callback):
    """Raises when epoch `epoch` (1-based) would begin, as if the process died after the one before."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 == self.epoch:
            raise SystemExit("died")


def _config(mini_archive: Path, cache_dir: Path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(
            config_name="config",
            overrides=[
                f"data.source={mini_archive}",
                f"data.cache_dir={cache_dir}",
                "data.n_train=200",
                "data.n_test=100",
                "data.maxlen=20",
                "model=gru",
                "model.units=8",
                # Dropout draws from each layer's random stream, which Keras's weights file leaves out.
                "model.dropout=0.2",
                "model.recurrent_dropout=0.2",
                "trainer.epochs=6",
                "trainer.deterministic=true",
                "trainer.seed=7",
            ],
        )


@pytest.mark.slow  # four trainings: ~25 s
def test_a_training_that_died_after_epoch_3_continues_at_epoch_4_with_the_numbers_of_an_uninterrupted_one(
    mini_archive: Path, cache_dir: Path, tmp_path: Path
) -> None:
    cfg = _config(mini_archive, cache_dir)
    whole = train(cfg, verbose=0)
    folder = tmp_path / "backup"
    with pytest.raises(SystemExit):
        train(cfg, callbacks=[_DiesAtEpoch(4)], verbose=0, backup_dir=folder)
    assert claim_backup(folder, "settings") == 0  # another configuration's: removed
    with pytest.raises(SystemExit):
        train(cfg, callbacks=[_DiesAtEpoch(4)], verbose=0, backup_dir=folder)
    # What the trial tags its run with before it trains on.
    assert claim_backup(folder, "settings") == 3

    continued = train(cfg, verbose=0, backup_dir=folder)

    assert continued.resumed_after_epoch == 3 and continued.metrics["epochs_run"] == 6
    # The whole history: the backup's three epochs, then the three trained now.
    assert continued.history["val_loss"] == whole.history["val_loss"]
    assert continued.metrics["val_loss"] == whole.metrics["val_loss"]
    assert continued.metrics["test_acc"] == whole.metrics["test_acc"]


@pytest.mark.slow  # two trainings: ~12 s
def test_a_trial_lost_after_its_last_epoch_is_not_trained_again(mini_archive: Path, cache_dir: Path, tmp_path: Path) -> None:
    # Lost while its results were being recorded: the backup holds every epoch.
    cfg = _config(mini_archive, cache_dir)
    folder = tmp_path / "backup"
    first = train(cfg, verbose=0, backup_dir=folder)
    assert backed_up_epochs(folder) == 6  # kept for the caller to remove

    again = train(cfg, verbose=0, backup_dir=folder)

    assert again.resumed_after_epoch == 6 and again.metrics["epochs_run"] == 6
    assert again.history["val_loss"] == first.history["val_loss"]
    assert again.metrics["test_acc"] == first.metrics["test_acc"]


def test_a_backup_of_another_configuration_is_removed_and_one_of_this_configuration_kept(tmp_path: Path) -> None:
    folder = tmp_path / "trial-3"
    claim_backup(folder, config_fingerprint({"model": "gru", "lr": 0.01}))
    (folder / "epoch-0002").mkdir()

    assert claim_backup(folder, config_fingerprint({"lr": 0.01, "model": "gru"})) == 2  # the same settings

    assert claim_backup(folder, config_fingerprint({"model": "lstm", "lr": 0.01})) == 0
    assert not (folder / "epoch-0002").exists() and folder.is_dir()


def _tiny_fit(folder: Path, epochs: int) -> TrainingBackup:
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dropout(0.1), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    backup = TrainingBackup(folder)
    model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=epochs, verbose=0, callbacks=[backup])
    return backup


def test_a_backup_killed_while_being_written_leaves_the_epoch_before_it_whole(tmp_path: Path) -> None:
    folder = tmp_path / "trial-0"
    _tiny_fit(folder, epochs=2)
    # What a process killed while Keras wrote epoch 3's weights leaves behind.
    part = folder / "epoch-0003.part"
    part.mkdir()
    (part / "latest.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n half written")
    assert backed_up_epochs(folder) == 2

    continued = _tiny_fit(folder, epochs=4)

    assert continued.resumed_after_epoch == 2 and len(continued.restored_history["loss"]) == 2
    assert [p.name for p in folder.iterdir() if p.is_dir()] == ["epoch-0004"]


def _job(number: int, **fields) -> JobContext:
    fields.setdefault("rerun_if_lost", True)
    return JobContext(number=number, overrides=[], varying=[], sweep={"mlflow_parent_run_id": "abc"}, **fields)


def test_a_rerun_shares_its_lost_trials_backup_folder_and_each_level_has_its_own(tmp_path: Path) -> None:
    cfg = _trainer_cfg(backup_dir=str(tmp_path))
    assert backup_folder(cfg, _job(5)) == tmp_path / "abc" / "trial-5"
    assert backup_folder(cfg, _job(9, tags={"retry_of": "5"})) == tmp_path / "abc" / "trial-5"
    assert backup_folder(cfg, _job(5, level=2)) == tmp_path / "abc" / "trial-5-level2"


def test_no_backup_outside_a_sweep_where_no_rerun_would_continue_it_or_when_turned_off(tmp_path: Path) -> None:
    assert backup_folder(_trainer_cfg(backup_dir=str(tmp_path)), None) is None
    assert backup_folder(_trainer_cfg(backup_dir=str(tmp_path)), _job(1, rerun_if_lost=False)) is None
    assert backup_folder(_trainer_cfg(backup=False, backup_dir=str(tmp_path)), _job(1)) is None


def _trainer_cfg(**trainer):
    from omegaconf import OmegaConf

    return OmegaConf.create({"trainer": trainer})
