"""Trials per hour of the same small sweeps run one after another and in parallel on Ray.

Each workload (12 binary-addition trials; 6 IMDB trials at n_train=1000; with `--workloads main`
also the README's main command, 9 trials up to 25,000 reviews) runs three ways (`--modes`), as
real `python -m src.train -m ...` commands, one after the other on this machine:

- sequential: Hydra's basic launcher, one process, TensorFlow with its default threads;
- ray 2x1: `hydra/launcher=ray`, two trials at a time, one TensorFlow thread each;
- ray 1x2: `hydra/launcher=ray`, one trial at a time with two threads (Ray's overhead alone).

Two times per command: the whole command (Python and Ray start-up, store creation included), as
a user waits for it, and the trial phase, from the first trial's MLflow run start to the last
one's end (read from the command's own store): the steady-state rate once Ray and the workers
are up, which a longer sweep approaches. Every command starts from the same warm data cache (a
warm-up trial fills it).
Results: benchmarks/results/parallel-<stamp>/throughput.csv and a table on stdout. The machine
must be otherwise idle for honest numbers: the load average before each command is recorded.

    python benchmarks/parallel_throughput.py --source ../shared/data/aclImdb_v1_labeled.tar.gz [--repeat 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from main_command_overhead import MAIN_COMMAND  # this script's folder is on sys.path when it runs

ROOT = Path(__file__).resolve().parents[1]

WORKLOADS = {
    # 3 layers x 2 sizes x 2 optimizers = 12 trials of the course's exercise.
    "binary_addition": [
        "data=binary_addition",
        "trainer.batch_size=32",
        "model=simplernn,lstm,gru",
        "model.units=16,128",
        "optimizer=sgd,adam",
    ],
    # 3 layers x 2 optimizers = 6 trials on 1,000 training reviews.
    "imdb": [
        "data=imdb",
        "data.n_train=1000",
        "model=simplernn,lstm,gru",
        "optimizer=adam,rmsprop",
    ],
    # The README's main command: 3 layers x 10, 100 and 25,000 training reviews (the full archive).
    "main": ["data=imdb", *MAIN_COMMAND[3:]],
}
TRIALS = {"binary_addition": 12, "imdb": 6, "main": 9}
MODES = {
    "sequential": ["hydra/launcher=basic"],
    "ray 2x1": [
        "hydra/launcher=ray",
        "hydra.launcher.max_concurrent=2",
        "hydra.launcher.cpus_per_trial=1",
    ],
    "ray 1x2": [
        "hydra/launcher=ray",
        "hydra.launcher.max_concurrent=1",
        "hydra.launcher.cpus_per_trial=2",
    ],
}


def run(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    (cwd / "stdout.txt").write_text(done.stdout)
    (cwd / "stderr.txt").write_text(done.stderr)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def trial_phase_seconds(workdir: Path) -> float:
    """First trial run's start to the last one's end, from the command's MLflow store."""
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True)
    trials = runs[runs["tags.sweep"] != "true"] if "tags.sweep" in runs else runs
    return (trials["end_time"].max() - trials["start_time"].min()).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--source",
        required=True,
        help="aclImdb .tar.gz archive with at least 1,000 training reviews (the full one)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds; each round rotates the order of the three modes",
    )
    parser.add_argument("--workloads", nargs="+", default=["binary_addition", "imdb"], choices=list(WORKLOADS))
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument(
        "--overrides",
        nargs="*",
        default=[],
        help="added to every command, e.g. trainer.epochs=1 for a quick check",
    )
    args = parser.parse_args()
    source = str(Path(args.source).resolve())

    results = ROOT / "benchmarks" / "results" / f"parallel-{time.strftime('%Y%m%d-%H%M%S')}"
    results.mkdir(parents=True)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as cache_dir:
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "SEQSWEEP_CACHE_DIR": cache_dir, "PYTHONPATH": path}
        for key in ("MLFLOW_TRACKING_URI", "RAY_ADDRESS"):
            env.pop(key, None)
        for workload in args.workloads:
            sweep = [
                *WORKLOADS[workload],
                *([f"data.source={source}"] if workload != "binary_addition" else []),
                *args.overrides,
            ]
            # One trial first, so no timed command pays for reading and tokenizing the archive.
            warm = results / workload / "warm-up"
            warm.mkdir(parents=True)
            run(
                [
                    sys.executable,
                    "-m",
                    "src.train",
                    *[o for o in sweep if "," not in o and "epochs" not in o],
                    "trainer.epochs=1",
                ],
                warm,
                env,
            )
            for round_ in range(args.repeat):
                modes = list(args.modes)
                modes = modes[round_ % len(modes) :] + modes[: round_ % len(modes)]
                for mode in modes:
                    workdir = results / workload / f"{mode.replace(' ', '-')}-{round_ + 1}"
                    workdir.mkdir(parents=True)
                    load = os.getloadavg()[0]
                    seconds = run(
                        [sys.executable, "-m", "src.train", "-m", *sweep, *MODES[mode]],
                        workdir,
                        env,
                    )
                    phase = trial_phase_seconds(workdir)
                    rows.append(
                        {
                            "workload": workload,
                            "mode": mode,
                            "round": round_ + 1,
                            "trials": TRIALS[workload],
                            "seconds": round(seconds, 1),
                            "trials_per_hour": round(TRIALS[workload] * 3600 / seconds, 1),
                            "trial_phase_seconds": round(phase, 1),
                            "trial_phase_trials_per_hour": round(TRIALS[workload] * 3600 / phase, 1),
                            "load_before": round(load, 2),
                        }
                    )
                    print(rows[-1], flush=True)

    with open(results / "throughput.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(table(rows))
    print(f"\nresults: {results}")


def table(rows: list[dict[str, object]]) -> str:
    """Trials per hour of each mode (summed over rounds) and its ratio to the sequential run, for
    whole commands and for their trial phases."""
    lines = [
        f"{'workload':<16} {'mode':<11} {'seconds':>8} {'trials/h':>9} {'vs seq':>7}"
        f" {'phase s':>8} {'phase trials/h':>15} {'vs seq':>7}"
    ]
    for workload in dict.fromkeys(str(r["workload"]) for r in rows):
        totals: dict[str, list[float]] = {}
        for row in rows:
            if row["workload"] == workload:
                total = totals.setdefault(str(row["mode"]), [0, 0.0, 0.0])
                total[0] += int(row["trials"])
                total[1] += float(row["seconds"])
                total[2] += float(row["trial_phase_seconds"])
        base_trials, base_seconds, base_phase = totals["sequential"]
        for mode, (trials, seconds, phase) in totals.items():
            rate, phase_rate = trials / seconds, trials / phase
            lines.append(
                f"{workload:<16} {mode:<11} {seconds:>8.1f} {rate * 3600:>9.0f} {rate / (base_trials / base_seconds):>6.2f}x"
                f" {phase:>8.1f} {phase_rate * 3600:>15.0f} {phase_rate / (base_trials / base_phase):>6.2f}x"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
