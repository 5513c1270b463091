"""How long a new user waits for the tool's first answer: help, a dry run, and each common mistake.

Each case is a real `python -m src.train ...` command in a fresh folder; the time is from start
to exit, with the exit code and the number of lines on stderr; the last case is the time until a
6-trial grid prints its first line (then it is stopped). The goal (the "first minute"
issue): every mistake answered in one line, exit code 2, within 2 s. Run it on an otherwise
idle machine: the load average before each command is recorded.

    python benchmarks/first_minute.py --source ../shared/data/aclImdb_mini.tar.gz [--repeat 3]

Results: benchmarks/results/first-minute-<stamp>.csv and a table on stdout.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name, arguments (data.source is added), the exit code a good answer has
CASES = [
    ("help", ["--help"], 0),
    ("dry run of a 6-point grid", ["-m", "model=simplernn,lstm,gru", "data.n_train=100,200", "hydra.sweeper.dry_run=true"], 0),
    ("typo in a swept group option", ["-m", "model=lstmm,gru"], 2),
    ("unknown key", ["trainer.epoch=1"], 2),
    ("bad value", ["model.units=-3"], 2),
    ("non-finite value", ["optimizer.learning_rate=nan"], 2),
    ("missing data file", ["data.source=/nonexistent/aclImdb.tar.gz"], 2),
    ("unknown preset", ["+sweeps=main_gird"], 2),
    ("preset without +", ["sweeps=main_grid"], 2),
]
# The first line of a real 6-trial grid: the time until it is printed (the sweep is then stopped).
FIRST_LINE = ["-m", "model=simplernn,lstm,gru", "data.n_train=100,200", "trainer.epochs=1"]


def first_line_seconds(source: str) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "src.train", *FIRST_LINE, f"data.source={source}"]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = process.stdout.readline().rstrip()
        seconds = time.monotonic() - started
        process.terminate()
        process.wait(timeout=120)
        return seconds, line


def run_case(arguments: list[str], source: str) -> tuple[float, int, list[str]]:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "src.train", *arguments]
        if not any(a.startswith("data.source=") for a in arguments) and arguments != ["--help"]:
            command.append(f"data.source={source}")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        started = time.monotonic()
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
        return time.monotonic() - started, done.returncode, [line for line in done.stderr.splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="an aclImdb archive (the mini one is enough)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for name, arguments, expected in CASES:
        for attempt in range(args.repeat):
            load = os.getloadavg()[0]
            seconds, code, stderr = run_case(arguments, str(Path(args.source).resolve()))
            rows.append(
                {
                    "case": name,
                    "attempt": attempt,
                    "seconds": round(seconds, 2),
                    "exit_code": code,
                    "expected_exit_code": expected,
                    "stderr_lines": len(stderr),
                    "last_stderr_line": stderr[-1][:200] if stderr else "",
                    "load_before": round(load, 2),
                }
            )
            print(f"{name:32s} {seconds:6.2f} s  exit {code} (want {expected})  stderr lines {len(stderr)}", flush=True)
    for attempt in range(args.repeat):
        load = os.getloadavg()[0]
        seconds, line = first_line_seconds(str(Path(args.source).resolve()))
        rows.append(
            {
                "case": "first line of a 6-trial grid",
                "attempt": attempt,
                "seconds": round(seconds, 2),
                "exit_code": "",
                "expected_exit_code": "",
                "stderr_lines": "",
                "last_stderr_line": line[:200],
                "load_before": round(load, 2),
            }
        )
        print(f"{'first line of a 6-trial grid':32s} {seconds:6.2f} s  {line}", flush=True)
    out = ROOT / "benchmarks" / "results" / f"first-minute-{time.strftime('%Y%m%d-%H%M%S')}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print("\nmedian seconds per case:")
    for name in [*(case[0] for case in CASES), "first line of a 6-trial grid"]:
        times = [r["seconds"] for r in rows if r["case"] == name]
        codes = {r["exit_code"] for r in rows if r["case"] == name}
        lines = {r["stderr_lines"] for r in rows if r["case"] == name}
        print(f"  {name:32s} {statistics.median(times):6.2f} s  exit {sorted(codes)}  stderr lines {sorted(lines)}")
    print(f"\n{out}")


if __name__ == "__main__":
    main()
