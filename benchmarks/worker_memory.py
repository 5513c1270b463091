"""Memory of a process that runs many trials: does it grow from one trial to the next?

One grid of N small IMDB trials (a GRU of 8 units on 200 reviews, 1 epoch; only the seed
changes), run as a real `python -m src.train -m ...` command two ways:

- in-process: Hydra's basic launcher, every trial in the sweeping process;
- ray: `hydra/launcher=ray` with one trial at a time, so one long-lived Ray worker runs them all
  (unless the launcher recycles it: `--max-calls`).

After each trial's end line the resident memory (RSS) of the process that trains is read with
psutil: the sweeping process in-process, the Ray worker(s) on Ray (the largest, and their
sum). Growth is the RSS at the end against the RSS after trial 10 (the first trials fill caches:
TensorFlow's kernels, the data cache, MLflow's store). Results in
benchmarks/results/memory-<stamp>/: rss.csv (one row per trial and mode), summary.csv and
rss_vs_trials.png. Run it on an otherwise idle machine.

    python benchmarks/worker_memory.py [--trials 200] [--modes in-process,ray] [--max-calls 0]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
PROGRESS = re.compile(r"^\[(\d+)/(\d+)\]")
BASELINE_TRIAL = 10


def command(trials: int, source: str, mode: str, max_calls: int) -> list[str]:
    grid = [
        "-m",
        "model=gru",
        "model.units=8",
        "model.embedding_dim=8",
        "data.num_words=1000",
        "data.maxlen=40",
        "data.n_train=200",
        "data.n_test=100",
        "trainer.validation_size=100",
        "trainer.epochs=1",
        f"trainer.seed=range(1,{trials + 1})",
        f"data.source={source}",
    ]
    if mode == "ray":
        grid += ["hydra/launcher=ray", "hydra.launcher.max_concurrent=1", "hydra.launcher.cpus_per_trial=2"]
        if max_calls:
            grid.append(f"hydra.launcher.max_calls={max_calls}")
    return [sys.executable, "-m", "src.train", *grid]


def training_processes(sweep: psutil.Process, mode: str) -> list[psutil.Process]:
    if mode == "in-process":
        return [sweep]
    found = []
    for child in sweep.children(recursive=True):
        try:
            # A Ray worker retitles itself `ray::IDLE` or `ray::<task>`; Ray's own agents are
            # `ray::DashboardAgent` and the like, and the raylet's command line names
            # default_worker.py too.
            title = " ".join(child.cmdline())
            if title.startswith("ray::") and not title.endswith("Agent"):
                found.append(child)
        except psutil.Error:
            pass
    return found


def rss_mb(processes: list[psutil.Process]) -> list[float]:
    values = []
    for process in processes:
        try:
            values.append(process.memory_info().rss / 2**20)
        except psutil.Error:
            pass
    return values


def run(mode: str, args: argparse.Namespace, workdir: Path) -> list[dict]:
    workdir.mkdir(parents=True)
    env = {**os.environ, "SEQSWEEP_CACHE_DIR": str(args.out / "data-cache")}
    env.pop("MLFLOW_TRACKING_URI", None)
    started = time.monotonic()
    sweep = subprocess.Popen(
        command(args.trials, args.source, mode, args.max_calls),
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    handle = psutil.Process(sweep.pid)
    rows, log = [], []
    assert sweep.stdout is not None
    for line in sweep.stdout:
        log.append(line)
        match = PROGRESS.match(line)
        if not match:
            continue
        values = rss_mb(training_processes(handle, mode))
        pids = [p.pid for p in training_processes(handle, mode)]
        rows.append(
            {
                "mode": f"{mode}, max_calls={args.max_calls}" if mode == "ray" and args.max_calls else mode,
                "trial": int(match[1]),
                "seconds": time.monotonic() - started,
                "rss_mb_max": max(values, default=float("nan")),
                "rss_mb_sum": sum(values),
                "training_processes": len(values),
                "pids": " ".join(map(str, pids)),
            }
        )
        if int(match[1]) % 20 == 0:
            print(f"{mode}: trial {match[1]}: {rows[-1]['rss_mb_max']:.0f} MB", flush=True)
    code = sweep.wait()
    (workdir / "output.txt").write_text("".join(log))
    if code != 0:
        sys.exit(f"{mode} exited {code}: {''.join(log[-30:])}")
    return rows


def summary(rss: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for mode, group in rss.groupby("mode", sort=False):
        base = group.loc[group["trial"] == BASELINE_TRIAL, "rss_mb_max"].iloc[0]
        end = group["rss_mb_max"].iloc[-1]
        rows.append(
            {
                "mode": mode,
                "trials": int(group["trial"].max()),
                "rss_mb_first": group["rss_mb_max"].iloc[0],
                f"rss_mb_at_{BASELINE_TRIAL}": base,
                "rss_mb_end": end,
                "rss_mb_peak": group["rss_mb_max"].max(),
                "growth_pct_from_10": 100 * (end - base) / base,
                "worker_pids_seen": len({p for pids in group["pids"] for p in str(pids).split()}),
                "seconds": group["seconds"].iloc[-1],
            }
        )
    return pd.DataFrame(rows)


def plot(rss: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for mode, group in rss.groupby("mode", sort=False):
        ax.plot(group["trial"], group["rss_mb_max"], label=mode)
    ax.set_xlabel("trials ended")
    ax.set_ylabel("RSS of the training process (MB)")
    ax.set_title("Memory of a process running many small trials")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--modes", default="in-process,ray")
    parser.add_argument("--max-calls", type=int, default=0, help="ray: recycle the worker after this many trials (0: never)")
    parser.add_argument("--source", default=str(ROOT.parent / "shared" / "data" / "aclImdb_mini.tar.gz"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    args.source = str(Path(args.source).resolve())
    args.out = (args.out or ROOT / "benchmarks" / "results" / f"memory-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()}", flush=True)
    rows = []
    for mode in args.modes.split(","):
        rows += run(mode, args, args.out / mode)
        pd.DataFrame(rows).to_csv(args.out / "rss.csv", index=False)
    rss = pd.DataFrame(rows)
    table = summary(rss)
    table.to_csv(args.out / "summary.csv", index=False)
    plot(rss, args.out / "rss_vs_trials.png")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
