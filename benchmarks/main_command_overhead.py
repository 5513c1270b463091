"""Time the main 9-trial command against a bare Keras loop doing the same work, and print the ratio.

Both run as fresh processes on the same machine, one after the other; the main command
starts with an empty data cache and an empty MLflow store (a first-time user's cold start).
With --repeat N the pair runs N times, alternating which goes first, and the ratio of the
summed times is reported (single runs on a shared 2-core machine vary by 10-20%).
The main command's working folders (their MLflow stores under mlruns/) are kept under
benchmarks/results/ for inspection.

    python benchmarks/main_command_overhead.py --source ../shared/data/aclImdb_v1_labeled.tar.gz [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAIN_COMMAND = ["-m", "src.train", "-m", "model=simplernn,lstm,gru", "data.n_train=10,100,25000"]


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def run_bare(source: str, workdir: Path) -> float:
    seconds, out = timed([sys.executable, str(ROOT / "benchmarks" / "bare_keras_loop.py"), source], workdir)
    print(out, flush=True)
    return seconds


def run_main_command(source: str, workdir: Path) -> float:
    with tempfile.TemporaryDirectory() as cache_dir:
        env = {**os.environ, "SEQSWEEP_CACHE_DIR": cache_dir}
        env.pop("MLFLOW_TRACKING_URI", None)
        seconds, out = timed([sys.executable, *MAIN_COMMAND, f"data.source={source}"], workdir, env)
    print(out, flush=True)
    print(f"MLflow store of the main command: {workdir / 'mlruns'}", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", required=True, help="aclImdb .tar.gz archive (the full 50,000 reviews)")
    parser.add_argument("--repeat", type=int, default=1, help="pairs of runs, alternating order")
    args = parser.parse_args()
    source = str(Path(args.source).resolve())

    results = ROOT / "benchmarks" / "results" / f"main_command-{time.strftime('%Y%m%d-%H%M%S')}"
    pairs = []
    for index in range(args.repeat):
        workdir = results / f"run{index + 1}"
        workdir.mkdir(parents=True)
        if index % 2 == 0:
            bare = run_bare(source, workdir)
            ours = run_main_command(source, workdir)
        else:
            ours = run_main_command(source, workdir)
            bare = run_bare(source, workdir)
        pairs.append(
            {"bare_keras_seconds": round(bare, 1), "main_command_seconds": round(ours, 1), "ratio": round(ours / bare, 3)}
        )
        print(json.dumps(pairs[-1]), flush=True)

    summary = {
        "pairs": pairs,
        "ratio_of_totals": round(
            sum(p["main_command_seconds"] for p in pairs) / sum(p["bare_keras_seconds"] for p in pairs), 3
        ),
    }
    print(json.dumps(summary))
    (results / "overhead.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
