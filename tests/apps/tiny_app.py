"""A tiny Hydra app for the launcher tests: a job that returns what it saw, raises, sleeps or dies.

python tests/apps/tiny_app.py -m hydra/launcher=ray x=1,2,3
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from hydra_plugins.seqsweep_plugins import current_job

CONF = Path(__file__).resolve().parent / "conf"


def job(cfg: DictConfig) -> dict[str, Any]:
    """The task function: what the launcher runs for each job."""
    print(f"tiny job x={cfg.x} starts", flush=True)
    if cfg.started_dir:
        Path(cfg.started_dir, f"{cfg.x}.started").write_text(str(os.getpid()))
    time.sleep(cfg.sleep)
    if cfg.end == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if cfg.end == "raise":
        raise ValueError(f"job x={cfg.x} raised on purpose")
    context = current_job()
    threads = os.environ.get("TF_NUM_INTRAOP_THREADS")
    print(f"tiny job x={cfg.x} ends (TF_NUM_INTRAOP_THREADS={threads})", file=sys.stderr, flush=True)
    return {
        "x": cfg.x,
        "value": 2.0 * cfg.x,
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "threads": threads,
        "context_number": None if context is None else context.number,
        "node_tag": None if context is None else context.tags.get("node"),
    }


main = hydra.main(version_base=None, config_path=str(CONF), config_name="tiny")(job)

if __name__ == "__main__":
    main()
