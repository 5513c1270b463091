"""Keras callbacks the trainer always uses: epoch timing and stopping on a non-finite loss."""

from __future__ import annotations

import math
import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` (training + validation) and `train_seconds` (training only) to each epoch's logs.

    Later callbacks (History, loggers) see them like any other epoch metric.
    """

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = time.perf_counter()
        self._train_end = None

    def on_test_begin(self, logs: dict | None = None) -> None:
        # Inside fit, validation starts right after the last training step of the epoch.
        if getattr(self, "_epoch_start", None) is not None and self._train_end is None:
            self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        end = time.perf_counter()
        if logs is not None:
            logs["epoch_seconds"] = end - self._epoch_start
            logs["train_seconds"] = (self._train_end or end) - self._epoch_start
        self._epoch_start = None


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops training at the end of the first epoch whose loss is NaN or infinite.

    Checking once per epoch keeps per-batch hooks out of the hot loop; a NaN loss never
    recovers, so nothing is lost by waiting for the epoch to end.
    """

    def __init__(self) -> None:
        super().__init__()
        self.diverged_at_epoch: int | None = None
        self.bad_value: float | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            self.diverged_at_epoch = epoch + 1
            self.bad_value = loss
            self.model.stop_training = True
