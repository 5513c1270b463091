"""Options of `hydra/launcher=ray`, registered in Hydra's ConfigStore so typos in keys are refused."""

# No `from __future__ import annotations` here, and typing's Optional and Dict: OmegaConf reads
# these dataclasses' annotations as types to check the keys and values of the config node.
# ruff: noqa: UP006, UP035, UP045
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class RayLauncherConf:
    _target_: str = "hydra_plugins.seqsweep_plugins.ray_launcher.launcher.RayLauncher"
    # null: start a Ray of this machine's cores, reachable from this machine only (loopback).
    # `auto` (a cluster started with `ray start` on this machine) or HOST:6379: join that cluster.
    address: Optional[str] = None
    # Trials in flight at once; null: as many as the cluster's CPUs (and GPUs) allow per trial.
    max_concurrent: Optional[int] = None
    # CPUs Ray reserves for each trial; its TensorFlow uses as many threads.
    cpus_per_trial: float = 1
    # GPUs per trial; a fraction (0.5) lets trials share a GPU, with TensorFlow's memory growth on.
    gpus_per_trial: float = 0
    # How often the sweeper runs a trial again, as a new recorded trial, when its worker or
    # machine died. Ray itself never retries a trial (its tasks run with max_retries=0).
    max_retries: int = 1
    # Trials a worker runs before Ray replaces it with a fresh one (Ray's `max_calls`; a warm
    # pool's actor, see keep_warm_s, is ended and replaced alike), which
    # bounds what a long-lived worker accumulates: one that ran 200 small IMDB trials grew 55%
    # (~3 MB a trial; benchmarks/worker_memory.py, docs/faults.md). A new worker imports
    # TensorFlow again (a few seconds per 50 trials). null: never replaced.
    max_calls: Optional[int] = 50
    # Seconds a worker stays warm after its last trial, across commands, on a cluster started
    # once with `ray start` (address set): trials run on a pool of detached actors that keep
    # TensorFlow imported, so the next sweep's first trial starts without importing it again
    # (ray_launcher/warm_pool.py). The pool holds its CPUs while warm. null: each command's own workers.
    keep_warm_s: Optional[float] = None
    # Passed to ray.init as they are (e.g. {num_cpus: 4, _temp_dir: /scratch/ray}).
    init_kwargs: Dict[str, Any] = field(default_factory=dict)


ConfigStore.instance().store(group="hydra/launcher", name="ray", node=RayLauncherConf, provider="seqsweep")
