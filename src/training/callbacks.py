"""Keras callbacks the trainer always uses: epoch timing and stopping on a non-finite loss."""

from __future__ import annotations

import math
import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` (training + validation) and `train_seconds` (training only) to each epoch's logs.

    Later callbacks (History, loggers) see them like any other epoch metric. The first
    epoch's times include tracing and compiling the train (and validation) functions, which
    no later epoch pays; `steady_ms_per_step` keeps that out of the speed figure.
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


def steady_ms_per_step(train_seconds: list[float], steps_per_epoch: int) -> float:
    """Milliseconds per training step, leaving out the first epoch when there are later ones.

    The first epoch pays for building the graph (seconds for an RNN, more than a whole epoch
    on a few examples), so averaging it in measures compilation, not speed. With one epoch
    there is nothing else to measure: the figure then includes the graph building.
    """
    steady = train_seconds[1:] or train_seconds
    return 1000.0 * sum(steady) / (len(steady) * steps_per_epoch)


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
