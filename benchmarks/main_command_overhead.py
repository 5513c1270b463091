"""Time the main 9-trial command against a bare Keras loop doing the same work, and print the ratio.

Both run as fresh processes on the same machine, one after the other; the main command
starts with an empty data cache and an empty MLflow store (a first-time user's cold start).
The main command's working folder (its MLflow store under mlruns/) is kept under
benchmarks/results/ for inspection.

    python benchmarks/main_command_overhead.py --source ../shared/data/aclImdb_v1_labeled.tar.gz
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", required=True, help="aclImdb .tar.gz archive (the full 50,000 reviews)")
    args = parser.parse_args()
    source = str(Path(args.source).resolve())

    workdir = ROOT / "benchmarks" / "results" / f"main_command-{time.strftime('%Y%m%d-%H%M%S')}"
    workdir.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as cache_dir:
        bare_seconds, bare_out = timed([sys.executable, str(ROOT / "benchmarks" / "bare_keras_loop.py"), source], workdir)
        print(bare_out, flush=True)
        env = {**os.environ, "SEQSWEEP_CACHE_DIR": cache_dir}
        env.pop("MLFLOW_TRACKING_URI", None)
        ours_seconds, ours_out = timed([sys.executable, *MAIN_COMMAND, f"data.source={source}"], workdir, env)
        print(ours_out, flush=True)

    result = {
        "bare_keras_seconds": round(bare_seconds, 1),
        "main_command_seconds": round(ours_seconds, 1),
        "ratio": round(ours_seconds / bare_seconds, 3),
    }
    print(json.dumps(result))
    (workdir / "overhead.json").write_text(json.dumps(result, indent=2))
    print(f"MLflow store of the main command: {workdir / 'mlruns'}")


if __name__ == "__main__":
    main()
