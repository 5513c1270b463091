"""A tiny Hydra app for the sweeper tests: returns what `kind` asks for, fails or sleeps on request."""

import os
import signal
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig

from hydra_plugins.seqsweep_plugins import SweepEnd, SweepStart, SweepTracker


@hydra.main(version_base=None, config_path="conf", config_name="objective")
def objective(cfg: DictConfig) -> object:
    time.sleep(cfg.sleep)
    if cfg.x < cfg.fail_below:
        raise RuntimeError(f"x={cfg.x} diverged")
    value = (cfg.x - 2) ** 2
    return {"float": value, "pair": [value, -value], "dict": {"loss": value, "x": cfg.x}, "text": "not a number"}[cfg.kind]


def refuse_x_above(cfg: DictConfig, limit: int = 4) -> None:
    """A point check: refuses the points whose x is above `limit`."""
    if cfg.x > limit:
        raise ValueError(f"x={cfg.x} is not allowed: at most {limit}")


class TrackerInterruptedWhileStarting(SweepTracker):
    """A tracker whose sweep start is Ctrl-C'd half-way; it writes what it did to files in the working folder."""

    def on_sweep_start(self, sweep: SweepStart) -> dict:
        Path("record").write_text("created")
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.3)
        Path("record").write_text("created and known")
        return {}

    def on_sweep_end(self, end: SweepEnd) -> None:
        Path("end").write_text(end.status.value)


if __name__ == "__main__":
    objective()
