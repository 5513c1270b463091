"""A tiny Hydra app for the sweeper tests: returns what `kind` asks for, fails or sleeps on request."""

import time

import hydra
from omegaconf import DictConfig


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


if __name__ == "__main__":
    objective()
