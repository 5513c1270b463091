"""What `hydra.launcher.keep_warm_s` buys on a Ray cluster started once: short sweeps in a row.

On this machine a Ray head is started once (`ray start --head --node-ip-address=127.0.0.1`), then
the same short sweep (4 binary-addition trials, 1 epoch, two slots) runs `--commands` times in a
row as real `python -m src.train -m ...` commands joining it, in one folder (they share its MLflow
store, as a user's project does), first with each command's own workers (Ray's default), then
with the warm pool. Per command:

- header_to_first_trial_s: the sweep's header line on the console to the first trial's MLflow run
  start (the trial's model is about to be built and trained), in two parts: header_to_parent_s,
  to the start of the sweep's parent run (the tracker's start), and parent_to_trial_s, from
  there (the first ask, the submit, the trial's start in its worker);
- start_to_header_s: the command's start to its header (Python, imports, composing, checks);
- command_s: the whole command, as a user waits for it;
- trial_phase_s: first trial run's start to the last one's end.

Then the cost of recycling a warm worker: a fresh pool actor, from its creation until it has
imported the trial's modules (`src.trial`, TensorFlow with it), measured `--recycles` times.
Results: benchmarks/results/warm-pool-<stamp>/warm_pool.csv and a table on stdout. Run it alone
on an idle machine; the load average before each command is recorded.

    python benchmarks/warm_pool.py [--commands 3] [--recycles 3]
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["data=binary_addition", "trainer.epochs=1", "model=simplernn,gru", "optimizer=sgd,adam"]
MODES = {"own workers": [], "warm pool": ["hydra.launcher.keep_warm_s=600"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_command(command: list[str], cwd: Path, env: dict[str, str], console: Path) -> dict[str, float]:
    """Run one sweep; seconds of the whole command, and the wall time its header appeared."""
    began = time.time()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    header_at = None
    lines = []
    for line in process.stdout:  # type: ignore[union-attr]
        lines.append(line)
        if header_at is None and line.startswith("[sweep] ") and "trial(s)" in line:
            header_at = time.time()
    process.wait()
    console.write_text("".join(lines))
    if process.returncode != 0 or header_at is None:
        sys.exit(f"{' '.join(command)} failed (exit {process.returncode}):\n{''.join(lines)[-3000:]}")
    return {"began": began, "header_at": header_at, "command_s": time.time() - began}


def trial_times(workdir: Path) -> tuple[float, float, float]:
    """The last command's parent run start, first trial run start and last trial run end (epoch
    seconds), from the folder's store: the trials under its newest parent run."""
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True)
    parent = runs[runs["tags.sweep"] == "true"].sort_values("start_time").iloc[-1]
    trials = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"]]
    return parent["start_time"].timestamp(), trials["start_time"].min().timestamp(), trials["end_time"].max().timestamp()


def wait_for_head(address: str, env: dict[str, str], limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        probe = [
            sys.executable,
            "-c",
            f"import ray; ray.init(address={address!r}, _node_ip_address='127.0.0.1'); ray.shutdown()",
        ]
        if subprocess.run(probe, env=env, capture_output=True, check=False).returncode == 0:
            return
        time.sleep(1)
    sys.exit(f"the Ray head at {address} did not start within {limit_s:g} s")


def recycle_seconds(address: str, env: dict[str, str], count: int) -> list[float]:
    """A fresh pool actor, created to ready (its modules imported), `count` times, in a driver of its own."""
    script = f"""
import time, ray
from hydra_plugins.seqsweep_plugins.ray_launcher.warm_pool import NAMESPACE, WarmWorker
ray.init(address={address!r}, _node_ip_address="127.0.0.1", log_to_driver=False)
# The warm pool of the commands above holds the CPUs: end it first.
for entry in ray.util.list_named_actors(all_namespaces=True):
    if entry["namespace"] == NAMESPACE:
        ray.kill(ray.get_actor(entry["name"], namespace=NAMESPACE))
time.sleep(2)
actor_class = ray.remote(WarmWorker)
for _ in range({count}):
    t = time.perf_counter()
    actor = actor_class.options(num_cpus=1).remote(["src.trial"], 60.0)
    ray.get(actor.__ray_ready__.remote())
    print(f"{{time.perf_counter() - t:.2f}}", flush=True)
    ray.kill(actor)
    time.sleep(2)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"the recycle measurement failed:\n{done.stderr[-3000:]}")
    return [float(line) for line in done.stdout.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=3, help="sweeps in a row per mode")
    parser.add_argument("--recycles", type=int, default=3, help="fresh pool actors timed")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    args = parser.parse_args()

    results = ROOT / "benchmarks" / "results" / f"warm-pool-{time.strftime('%Y%m%d-%H%M%S')}"
    results.mkdir(parents=True)
    port = free_port()
    address = f"127.0.0.1:{port}"
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="ray", dir="/tmp") as ray_dir, tempfile.TemporaryDirectory() as cache_dir:
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "SEQSWEEP_CACHE_DIR": cache_dir, "PYTHONPATH": path, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
        # A head on loopback only: no token (with the mode unset, `ray start` turns token
        # authentication on whenever ~/.ray/auth_token exists, and clients would need the mode).
        env["RAY_AUTH_MODE"] = "disabled"
        for key in ("MLFLOW_TRACKING_URI", "RAY_ADDRESS"):
            env.pop(key, None)
        # --block: the head lives as long as this child, and ends its Ray processes with it, so
        # `ray stop` (which stops every Ray of the machine) is never needed.
        head = subprocess.Popen(
            [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
             f"--port={port}", "--num-cpus=2", "--include-dashboard=false", f"--temp-dir={ray_dir}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_head(address, env)
            for mode in args.modes:
                settings = MODES[mode]
                for number in range(1, args.commands + 1):
                    # One folder per mode, as a user's project: the commands share its MLflow store.
                    workdir = results / mode.replace(" ", "-")
                    workdir.mkdir(parents=True, exist_ok=True)
                    load = os.getloadavg()[0]
                    command = [
                        sys.executable, "-m", "src.train", "-m", *SWEEP, "hydra/launcher=ray",
                        f"hydra.launcher.address={address}", "hydra.launcher.max_concurrent=2", *settings,
                    ]  # fmt: skip
                    timing = run_command(command, workdir, env, workdir / f"console-{number}.txt")
                    parent_start, first_start, last_end = trial_times(workdir)
                    rows.append(
                        {
                            "mode": mode,
                            "command": number,
                            "load_before": round(load, 2),
                            "start_to_header_s": round(timing["header_at"] - timing["began"], 2),
                            "header_to_first_trial_s": round(first_start - timing["header_at"], 2),
                            "header_to_parent_s": round(parent_start - timing["header_at"], 2),
                            "parent_to_trial_s": round(first_start - parent_start, 2),
                            "command_s": round(timing["command_s"], 1),
                            "trial_phase_s": round(last_end - first_start, 1),
                        }
                    )
                    print(rows[-1], flush=True)
            recycles = recycle_seconds(address, env, args.recycles)
        finally:
            head.terminate()
            head.wait(timeout=60)
    with open(results / "warm_pool.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(
        f"\n{'mode':<12} {'#':>2} {'load':>5} {'start->header':>14} {'header->trial s':>16} {'(->parent':>10} "
        f"{'parent->trial)':>15} {'command s':>10} {'trials s':>9}"
    )
    for row in rows:
        print(
            f"{row['mode']:<12} {row['command']:>2} {row['load_before']:>5} {row['start_to_header_s']:>14} "
            f"{row['header_to_first_trial_s']:>16} {row['header_to_parent_s']:>10} {row['parent_to_trial_s']:>15} "
            f"{row['command_s']:>10} {row['trial_phase_s']:>9}"
        )
    print(f"recycling a warm worker (fresh actor to modules imported): {', '.join(f'{s:.1f}' for s in recycles)} s")
    (results / "recycle_seconds.txt").write_text("\n".join(f"{s:.2f}" for s in recycles) + "\n")
    print(f"results: {results}")


if __name__ == "__main__":
    main()
