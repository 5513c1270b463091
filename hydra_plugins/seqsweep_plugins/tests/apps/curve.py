"""A tiny Hydra app with a learning curve, for the fidelity tests: the loss of configuration `x`
at training-set size `size` is (x - 2)^2 / 10 + 1 / sqrt(size), and every job appends what it
ran (trial, size, start and end times, process) to `log` as one JSON line."""

import json
import os
import time

import hydra
from omegaconf import DictConfig

from hydra_plugins.seqsweep_plugins import current_job


@hydra.main(version_base=None, config_path="conf", config_name="curve")
def curve(cfg: DictConfig) -> float:
    start = time.time()
    time.sleep(cfg.sleep * cfg.size / 100)
    job = current_job()
    record = {
        "trial": job.number if job else None,
        "size": cfg.size,
        "x": cfg.x,
        "start": start,
        "end": time.time(),
        "pid": os.getpid(),
        "earlier": {str(k): v for k, v in (job.earlier_levels if job else {}).items()},
    }
    with open(cfg.log, "a") as log:
        log.write(json.dumps(record) + "\n")
    return (cfg.x - 2) ** 2 / 10 + 1 / cfg.size**0.5


def refuse_size_above(cfg: DictConfig, limit: int = 500) -> None:
    """A point check: the data holds `limit` examples."""
    if cfg.size > limit:
        raise ValueError(f"size={cfg.size} is not allowed: at most {limit}")


if __name__ == "__main__":
    curve()
