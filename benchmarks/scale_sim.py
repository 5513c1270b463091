"""What the sweeper itself costs per trial as a sweep grows: trials that take no time, real everything else.

Runs the real command (`python -m src.train -m ...`: the real sweeper, study, tracker and
stores) with benchmarks/hydra_plugins/scale_sim/instant_launcher.py in place of Ray (Hydra takes launchers
from the `hydra_plugins` namespace only; this script puts benchmarks/ on the path): `--slots` trials in flight, each
ending as soon as it is submitted with made-up metrics. The time between trials is then the
sweeper's own work per trial (ask under the budget lock, the point check, composing the job's
config, tell, the progress line). The executor writes each submit's time; this script prints
the cost per trial in windows of the trials so far, and the time composing took within it.

    python benchmarks/scale_sim.py --sweeper random --trials 2000 --slots 64
    python benchmarks/scale_sim.py --sweeper grid --trials 1000 --slots 8 \
        --study-url postgresql+psycopg://user:pw@127.0.0.1:5432/db --tracking-uri http://127.0.0.1:5000
    python benchmarks/scale_sim.py ... --profile      # also: where the sweeping process spent its time

Stores default to fresh SQLite files in a temporary folder. Results: a CSV per run under
benchmarks/results/scale-<stamp>/ and a table on stdout. Needs an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import write_synthetic_archive  # noqa: E402

LAUNCHER = ["hydra/launcher=ray", "hydra.launcher._target_=hydra_plugins.scale_sim.instant_launcher.InstantLauncher"]
SAMPLERS = {
    # The preset's sampler is TPE (seed 42, 5 random trials first).
    "random": ["hydra.sweeper.sampler._target_=optuna.samplers.RandomSampler", "~hydra.sweeper.sampler.n_startup_trials"],
    "tpe": [],
}
# Functions whose cumulative time --profile reports (substrings of pstats' function names).
PROFILED = ("study.py:", "_ask", "tell", "budget_lock", "error", "load_sweep_config", "counted_trials", "say")


def command(args: argparse.Namespace, folder: Path, archive: Path) -> list[str]:
    study = args.study_url or f"sqlite:///{folder / 'optuna.db'}"
    tracking = args.tracking_uri or f"sqlite:///{folder / 'mlflow.db'}"
    common = [
        *LAUNCHER,
        f"hydra.launcher.max_concurrent={args.slots}",
        f"data.source={archive}",
        f"data.cache_dir={folder / 'cache'}",
        f"tracking.tracking_uri={tracking}",
        f"hydra.sweep.dir={folder / 'sweep'}",
    ]
    if args.sweeper == "grid":
        return ["-m", f"trainer.seed=range(0,{args.trials})", *common]
    return [
        "+sweeps=imdb_optuna",
        *SAMPLERS[args.sweeper],
        "hydra.sweeper.pruner=null",
        f"hydra.sweeper.n_trials={args.trials}",
        f"hydra.sweeper.n_jobs={args.slots}",
        f"hydra.sweeper.storage={study}",
        *common,
    ]


def per_window(timings: list[dict], window: int) -> list[dict]:
    rows = []
    for start in range(0, len(timings) - window + 1, window):
        chunk = timings[start : start + window]
        # Submits of trials start..start+window-1: the time from the one before the window's first.
        before = timings[start - 1]["submitted"] if start else chunk[0]["submitted"]
        count = window if start else window - 1
        seconds = chunk[-1]["submitted"] - before
        rows.append(
            {
                "trials_so_far": start + window,
                "ms_per_trial": round(1000 * seconds / max(count, 1), 2),
                "compose_ms": round(1000 * sum(t["compose_s"] for t in chunk) / len(chunk), 2),
            }
        )
    return rows


def profile_lines(path: Path) -> list[str]:
    stats = pstats.Stats(str(path))
    lines = []
    for (file, line, name), (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        label = f"{Path(file).name}:{line}({name})"
        if "seqsweep_plugins" in file or "optuna/study" in file or "config_loader" in file:
            if any(key in label for key in PROFILED) and cumulative > 0.5:
                lines.append((cumulative, f"{cumulative:8.1f} s  {calls:7d} calls  {label}"))
    return [text for _, text in sorted(lines, reverse=True)[:25]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sweeper", choices=["grid", "random", "tpe"], default="random")
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=64)
    parser.add_argument("--window", type=int, default=250)
    parser.add_argument("--study-url", help="SQLAlchemy URL of an empty database for the study (default: SQLite)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default: SQLite)")
    parser.add_argument("--profile", action="store_true", help="run the sweeping process under cProfile")
    parser.add_argument("--results", type=Path, help="folder for the CSV (default: benchmarks/results/scale-<stamp>)")
    args = parser.parse_args()

    results = args.results or ROOT / "benchmarks" / "results" / f"scale-{time.strftime('%Y%m%d-%H%M%S')}"
    results.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        archive = write_synthetic_archive(folder / "archive")
        timings_path = folder / "timings.jsonl"
        profile = results / "sweep.prof"
        python = [sys.executable, *(["-m", "cProfile", "-o", str(profile)] if args.profile else [])]
        load = os.getloadavg()[0]
        began = time.monotonic()
        done = subprocess.run(
            [*python, "-m", "src.train", *command(args, folder, archive)],
            cwd=ROOT,
            env={
                **os.environ,
                "SCALE_SIM_OUT": str(timings_path),
                "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")]),
            },
            capture_output=True,
            text=True,
        )
        wall = time.monotonic() - began
        if done.returncode != 0 or not timings_path.exists():
            sys.exit(f"the sweep failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        timings = [json.loads(line) for line in timings_path.read_text().splitlines()]
    rows = per_window(timings, args.window)
    name = f"{args.sweeper}-{args.trials}x{args.slots}-{'pg' if args.study_url else 'sqlite'}"
    with (results / f"{name}.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    first = timings[0]["submitted"]
    print(
        f"{name}: {len(timings)} trials, command {wall:.0f} s (first trial after {first:.1f} s of the "
        f"executor's life), load before {load:.2f}"
    )
    print(f"{'trials so far':>14} {'ms/trial':>9} {'compose ms':>11}")
    for row in rows:
        print(f"{row['trials_so_far']:>14} {row['ms_per_trial']:>9} {row['compose_ms']:>11}")
    if args.profile:
        print("\nwhere the sweeping process spent its time (cumulative, > 0.5 s):")
        print("\n".join(profile_lines(profile)))
    print(f"results: {results}")


if __name__ == "__main__":
    main()
