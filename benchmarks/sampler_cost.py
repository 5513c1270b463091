"""What Optuna's samplers themselves cost per trial as a study grows: the part of the sweeper's
cost per trial that is Optuna's, measured apart from everything seqsweep does around it.

An in-memory study is filled with N completed trials over the `imdb_optuna` search space (the
same distributions the sweeper asks with), then the sampler is timed over `--asks` asks (each
told FAIL, which no sampler learns from, so N stays N). Results: a table on stdout and a CSV
under benchmarks/results/. Needs an otherwise idle machine.

    python benchmarks/sampler_cost.py --sizes 100,1000,2000,5000,10000 --samplers tpe,random,tpe_no_multivariate
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.trial import TrialState, create_trial

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hydra_plugins.seqsweep_plugins.optuna_sweeper.search_space import parse_search_space  # noqa: E402

# conf/sweeps/imdb_optuna.yaml's params, turned into Optuna distributions by the sweeper's own parser.
PRESET = yaml.safe_load((ROOT / "conf" / "sweeps" / "imdb_optuna.yaml").read_text())
SPACE, _ = parse_search_space(f"{key}={value}" for key, value in PRESET["hydra"]["sweeper"]["params"].items())

SAMPLERS: dict[str, Callable[[], optuna.samplers.BaseSampler]] = {
    # The preset's sampler (TPE, seeded, 5 random trials first).
    "tpe": lambda: optuna.samplers.TPESampler(seed=42, n_startup_trials=5),
    "tpe_multivariate": lambda: optuna.samplers.TPESampler(seed=42, n_startup_trials=5, multivariate=True),
    "random": lambda: optuna.samplers.RandomSampler(seed=42),
    "qmc": lambda: optuna.samplers.QMCSampler(seed=42, warn_independent_sampling=False),
}


def filled_study(size: int, sampler: optuna.samplers.BaseSampler) -> optuna.Study:
    rng = random.Random(0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    trials = []
    for _ in range(size):
        params = {key: _draw(rng, d) for key, d in SPACE.items()}
        trials.append(create_trial(params=params, distributions=SPACE, value=rng.uniform(0.5, 0.9), state=TrialState.COMPLETE))
    study.add_trials(trials)
    return study


def _draw(rng: random.Random, distribution: BaseDistribution) -> Any:
    if isinstance(distribution, CategoricalDistribution):
        return rng.choice(distribution.choices)
    low, high = distribution.low, distribution.high
    return math.exp(rng.uniform(math.log(low), math.log(high))) if distribution.log else rng.uniform(low, high)


def ms_per_ask(study: optuna.Study, asks: int) -> float:
    study.tell(study.ask(SPACE), state=TrialState.FAIL)  # warms any per-study set-up
    started = time.perf_counter()
    for _ in range(asks):
        study.tell(study.ask(SPACE), state=TrialState.FAIL)
    return (time.perf_counter() - started) / asks * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,2000,5000,10000")
    parser.add_argument("--samplers", default="tpe,random")
    parser.add_argument("--asks", type=int, default=20)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sizes = [int(size) for size in args.sizes.split(",")]
    names = args.samplers.split(",")
    rows = []
    for name in names:
        for size in sizes:
            ms = ms_per_ask(filled_study(size, SAMPLERS[name]()), args.asks)
            rows.append({"sampler": name, "trials": size, "ms_per_ask": round(ms, 2)})
            print(f"{name:18s} {size:6d} trials: {ms:8.2f} ms per ask", flush=True)
    out = ROOT / "benchmarks" / "results" / f"sampler-cost-{time.strftime('%Y%m%d-%H%M%S')}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"results: {out}")


if __name__ == "__main__":
    main()
