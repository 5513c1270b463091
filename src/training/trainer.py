"""The training recipe: seed -> data -> model -> fit -> evaluate, with no tracking code."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

# TensorFlow exports only `enable_op_determinism`; turning it off again (a trial with
# deterministic=false after one with true, in the same process) needs the module behind it.
from tensorflow.python.framework import config as tf_config

from src.data.task import TaskData, wanted_inputs
from src.data.validation_set import ValidationPlan
from src.training.backup import TrainingBackup
from src.training.callbacks import EpochTimer, StopOnNonFiniteLoss, steady_ms_per_step

# Each trial builds a new model, so Keras retraces its train function; TensorFlow warns
# about that on every sweep, although it is expected and cheap next to training.
logging.getLogger("tensorflow").setLevel(logging.ERROR)


class TrialDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass
class TrialResult:
    """What one trial produced: final metrics, per-epoch history, and the objects behind them."""

    metrics: dict[str, float]
    history: dict[str, list[float]]
    model: keras.Model
    data: TaskData
    extra: dict[str, Any] = field(default_factory=dict)
    # The epochs a restored backup had completed before this process trained on (0: none).
    resumed_after_epoch: int = 0


# Keys of a data config that the sweeper reads (conf/config.yaml's best_among), not the loader.
SWEEP_SETTINGS = ("min_val_size",)


def prepare_data(cfg: DictConfig) -> TaskData:
    """Instantiate the configured loader for this trial's seed and validation settings, in the
    input form the model asks for (None: the loader's own default)."""
    # "object": the plan and the input request reach the loader as the dataclasses they are,
    # not as configs (instantiate would turn them into DictConfigs without their methods).
    return instantiate(
        OmegaConf.masked_copy(cfg.data, [key for key in cfg.data if key not in SWEEP_SETTINGS]),
        _convert_="object",
        seed=cfg.trainer.seed,
        validation=ValidationPlan.from_trainer(cfg.trainer),
        inputs=wanted_inputs(cfg.model),
    )


def build_model(cfg: DictConfig, data: TaskData) -> keras.Model:
    """Build and compile the configured model for the task's inputs."""
    model = instantiate(cfg.model, spec=data.spec)
    model.compile(optimizer=instantiate(cfg.optimizer), loss=data.loss, metrics=list(data.metrics))
    return model


def early_stopping(cfg: DictConfig) -> list[keras.callbacks.Callback]:
    """Keras EarlyStopping when `trainer.early_stopping.enabled`, else nothing."""
    settings = cfg.trainer.get("early_stopping")
    if not settings or not settings.enabled:
        return []
    return [
        keras.callbacks.EarlyStopping(
            monitor=settings.monitor, patience=settings.patience, restore_best_weights=settings.restore_best_weights
        )
    ]


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and TensorFlow; with `deterministic`, also make TensorFlow's ops
    deterministic, so the same seed gives the same numbers (on CPU) at some cost in speed.

    Op determinism is a process-wide switch, so it is set either way for every trial.
    """
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    elif tf_config.is_op_determinism_enabled():
        tf_config.disable_op_determinism()


def train(
    cfg: DictConfig,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 2,
    backup_dir: str | Path | None = None,
) -> TrialResult:
    """Run one trial. Extra `callbacks` (loggers, pruners) see every epoch's logs.

    With `backup_dir`, the training state is saved there after every epoch, and a backup found
    there (left by a training of the same configuration that died) is continued from its last
    epoch; the folder stays for the caller to remove once the results are recorded. `history`
    then holds every epoch, those of the backup included.

    Raises `TrialDiverged` when the loss becomes NaN or infinite.
    """
    # Without the full gc.collect() Keras would run here (0.45 s a trial, the largest cost outside
    # fit): Python's own collector frees the last trial's model as usual.
    keras.backend.clear_session(free_memory=False)
    seed_everything(cfg.trainer.seed, cfg.trainer.deterministic)

    start = time.perf_counter()
    data = prepare_data(cfg)
    # A loader that shares prepared arrays across trials reports what this trial cost.
    data_seconds = data.info.get("data_seconds", time.perf_counter() - start)

    model = build_model(cfg, data)
    divergence = StopOnNonFiniteLoss()
    validation = (data.x_val, data.y_val) if len(data.x_val) else None

    # Last, so an epoch is logged by the other callbacks before it counts as backed up.
    backup = [TrainingBackup(backup_dir)] if backup_dir else []
    start = time.perf_counter()
    history = model.fit(
        data.x_train,
        data.y_train,
        validation_data=validation,
        epochs=cfg.trainer.epochs,
        batch_size=cfg.trainer.batch_size,
        callbacks=[EpochTimer(), divergence, *early_stopping(cfg), *callbacks, *backup],
        verbose=verbose,
    )
    fit_seconds = time.perf_counter() - start
    if divergence.diverged_at_epoch is not None:
        raise TrialDiverged(f"loss became {divergence.bad_value} at epoch {divergence.diverged_at_epoch}")

    resumed_after = backup[0].resumed_after_epoch if backup else 0
    if resumed_after:
        restored = backup[0].restored_history
        history.history = {name: restored.get(name, []) + history.history.get(name, []) for name in restored}
    epochs_run = len(history.history["loss"])
    steps_per_epoch = int(np.ceil(len(data.x_train) / cfg.trainer.batch_size))
    metrics = {
        **{name: float(values[-1]) for name, values in history.history.items() if name not in _TIMING_KEYS},
        "n_params": float(model.count_params()),
        "data_seconds": data_seconds,
        "fit_seconds": fit_seconds,
        # The first epoch includes building the graph; ms_per_step leaves it out (see steady_ms_per_step).
        "first_epoch_seconds": float(history.history["epoch_seconds"][0]),
        "ms_per_step": steady_ms_per_step(history.history["train_seconds"], steps_per_epoch),
        "epochs_run": float(epochs_run),
        **{name: float(size) for name, size in data.sizes.items()},
    }
    # A search that selects on validation metrics can skip the test set (the full 25,000
    # reviews take 2-5 s, against 15-20 s of fit for 4 epochs at n_train=5000); the trial then
    # has no test_* metrics at all, rather than zeros.
    if cfg.trainer.evaluate_test:
        metrics.update(evaluate_test(model, data, cfg.trainer.eval_batch_size))
    return TrialResult(metrics=metrics, history=history.history, model=model, data=data, resumed_after_epoch=resumed_after)


def evaluate_test(model: keras.Model, data: TaskData, batch_size: int) -> dict[str, float]:
    """`test_*` metrics on the task's test set, and what the evaluation cost."""
    start = time.perf_counter()
    test = model.evaluate(data.x_test, data.y_test, batch_size=batch_size, verbose=0, return_dict=True)
    eval_seconds = time.perf_counter() - start
    return {
        **{f"test_{name}": float(value) for name, value in test.items()},
        "eval_seconds": eval_seconds,
        "inference_ms_per_sample": 1000.0 * eval_seconds / len(data.x_test),
    }


_TIMING_KEYS = {"epoch_seconds", "train_seconds"}
