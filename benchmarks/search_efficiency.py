"""Which search finds the best IMDB model in a given wall time: our Optuna sweeper, plain Optuna, Keras Tuner.

Every method searches the same space (benchmarks/search_space.py) on the same data (n_train
5000, validated on the app's fixed 2,500 reviews outside them (--validation split: 20% of the
5000, as before data-size fidelity), maxlen 100, 10,000 words, at most 4 epochs per trial) for
the same wall budget, once per seed, each as its own process from a warm data cache:

    ours_random, ours_tpe, ours_tpe_median, ours_tpe_hyperband
        `python -m src.train -m hydra/sweeper=optuna ... hydra.sweeper.timeout=BUDGET`, each in a
        fresh folder with its own MLflow and Optuna stores, without per-trial test evaluation
        (trainer.evaluate_test=false), as the peers do;
    ours_tpe_median_test
        the same as ours_tpe_median with the default per-trial evaluation of the full test set;
    ours_tpe_fidelity, ours_tpe_fidelity_curve
        TPE with the training-set size as the fidelity (hydra.sweeper.fidelity: levels from
        --fidelity-min to n_train by 3, Optuna's successive-halving pruner), the second with the
        learning-curve rule too; every level is validated on the same fixed set;
    ours_tpe_fidelity_ray2
        ours_tpe_fidelity with two trials in flight on Ray (hydra/launcher=ray, n_jobs=2);
    plain_optuna   TPE + median pruner written by hand over the project's loader and builder;
    plain_optuna_2jobs
        the same with study.optimize(n_jobs=2): two trials in threads of one process, the
        reference of ours_tpe_fidelity_ray2;
    keras_tuner    Keras Tuner's Hyperband (max_epochs 4, factor 3) over the same builder.

Afterwards each run's chosen configuration is trained once more (4 epochs, same data and seed)
and evaluated on the full 25,000-review test set. Results go to benchmarks/results/<stamp>/:
runs.csv (one row per method and seed), trials.csv, summary.csv (mean and 95% interval per
method), paired.csv (with plain_optuna among the methods: each method's time to reach plain
Optuna's median best, as a ratio to plain Optuna's paired by seed, geometric mean and 95%
interval), best_val_acc_vs_time.png, and the working folders of our sweeps (their stores).

    python benchmarks/search_efficiency.py --source ../shared/data/aclImdb_v1_labeled.tar.gz [--budget 180] [--seeds 3]
    python benchmarks/search_efficiency.py --smoke      # mini archive, a few seconds per method, 1 seed
    python benchmarks/search_efficiency.py --combine DIR1 DIR2 --out DIR   # one table from several runs

"best val_acc" is what each tool itself reports for its chosen configuration: the final-epoch
val_acc of the best complete trial for Optuna (ours and plain), the best epoch's val_acc of the
best trial for Keras Tuner (its own objective). Where the time goes:
    startup_s             launching the method's process to its first trial (imports, composing,
                          validation, loading the cached data);
    overhead_s_per_trial  median over trials of the trial's time (asked -> told) minus the time
                          inside `fit` and test evaluation: the orchestration per trial;
    outside_keras_s       the whole wall time minus all time inside `fit` and evaluation (one-off
                          costs included, e.g. creating a fresh MLflow store at the first trial);
    in_run_overhead_s     (ours) median over complete trials of the MLflow run's duration minus its
                          fit, eval and data seconds: what the trial's own tracking costs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.search_space import data_overrides, hydra_params

OURS = {
    "ours_random": {"sampler": {"_target_": "optuna.samplers.RandomSampler"}, "pruner": None, "evaluate_test": False},
    "ours_tpe": {
        "sampler": {"_target_": "optuna.samplers.TPESampler", "n_startup_trials": 5},
        "pruner": None,
        "evaluate_test": False,
    },
    "ours_tpe_median": {
        "sampler": {"_target_": "optuna.samplers.TPESampler", "n_startup_trials": 5},
        "pruner": {"_target_": "optuna.pruners.MedianPruner", "n_startup_trials": 5, "n_warmup_steps": 1},
        "evaluate_test": False,
    },
    "ours_tpe_hyperband": {
        "sampler": {"_target_": "optuna.samplers.TPESampler", "n_startup_trials": 5},
        "pruner": {"_target_": "optuna.pruners.HyperbandPruner", "min_resource": 1, "max_resource": 4, "reduction_factor": 3},
        "evaluate_test": False,
    },
}
OURS["ours_tpe_median_test"] = {**OURS["ours_tpe_median"], "evaluate_test": True}
# Training-set size as the fidelity (hydra.sweeper.fidelity): levels from --fidelity-min up to
# the benchmark's n_train by a factor of 3, judged by Optuna's successive-halving pruner.
OURS["ours_tpe_fidelity"] = {
    "sampler": {"_target_": "optuna.samplers.TPESampler", "n_startup_trials": 5},
    "pruner": {"_target_": "optuna.pruners.SuccessiveHalvingPruner"},
    "evaluate_test": False,
    "fidelity": {"key": "data.n_train", "reduction_factor": 3},
}
OURS["ours_tpe_fidelity_curve"] = {
    **OURS["ours_tpe_fidelity"],
    "fidelity": {**OURS["ours_tpe_fidelity"]["fidelity"], "curve_stop": True},
}
# Two trials in flight: ours on Ray (hydra/launcher=ray, one CPU each) against plain Optuna's
# n_jobs=2 (two threads in one process), each measured against the other.
OURS["ours_tpe_fidelity_ray2"] = {**OURS["ours_tpe_fidelity"], "launcher": "ray", "n_jobs": 2}
PEERS = ["plain_optuna", "plain_optuna_2jobs", "keras_tuner"]
# The reference each method's time to the target is paired with (plain_optuna where not named).
REFERENCE = {"ours_tpe_fidelity_ray2": "plain_optuna_2jobs"}
METHODS = [*OURS, *PEERS]


@dataclasses.dataclass
class Setup:
    source: str
    overrides: list[str]
    budget: float
    out: Path
    env: dict[str, str]
    # Our sweeper without `hydra.sweeper.timeout` (or --ours-trials): a trial count instead.
    ours_trials: int | None
    n_train: int = 5000
    fidelity_min: int = 1000
    # --smoke: a fidelity search of a few seconds may finish no configuration (a climbing trial
    # is stopped at the budget), so there it runs this many configurations instead.
    fidelity_trials: int | None = None


def sweeper_has_timeout() -> bool:
    """Whether this checkout's Optuna sweeper knows `hydra.sweeper.timeout` (added by issue 12)."""
    from hydra_plugins.seqsweep_plugins.optuna_sweeper.config import OptunaSweeperConf

    return "timeout" in {field.name for field in dataclasses.fields(OptunaSweeperConf)}


def write_preset(method: str, seed: int, workdir: Path, setup: Setup | None = None) -> Path:
    """The method's sweep as a preset in `workdir/conf/bench/search.yaml` (returns `workdir/conf`).

    A preset rather than command-line overrides: `hydra.sweeper.params` and `pruner` default
    to null, and Hydra cannot merge a dict given on the command line into a null.
    """
    from omegaconf import OmegaConf

    settings = OURS[method]
    defaults: list[dict[str, str]] = [{"override /hydra/sweeper": "optuna"}]
    if settings.get("launcher"):
        defaults.append({"override /hydra/launcher": settings["launcher"]})
    preset = {
        "defaults": defaults,
        "trainer": {"evaluate_test": settings["evaluate_test"]},
        "hydra": {
            "mode": "MULTIRUN",
            "sweeper": {
                "objectives": ["val_acc"],
                "direction": "maximize",
                "sampler": {**settings["sampler"], "seed": seed},
                "pruner": settings["pruner"],
                "params": hydra_params(),
                "n_jobs": settings.get("n_jobs", 1),
            },
        },
    }
    if "fidelity" in settings:
        top = setup.n_train if setup else 5000
        low = setup.fidelity_min if setup else 1000
        preset["hydra"]["sweeper"]["fidelity"] = {**settings["fidelity"], "min": low, "max": top}
    path = workdir / "conf" / "bench" / "search.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("# @package _global_\n" + OmegaConf.to_yaml(preset))
    return workdir / "conf"


def ours_command(config_dir: Path, setup: Setup, method: str = "") -> list[str]:
    budget = (
        [f"hydra.sweeper.n_trials={setup.ours_trials}"]
        if setup.ours_trials
        else ["hydra.sweeper.n_trials=100000", f"hydra.sweeper.timeout={setup.budget:g}"]
    )
    overrides = setup.overrides
    if "fidelity" in OURS.get(method, {}):  # each level sets data.n_train; the top level is n_train
        overrides = [o for o in overrides if not o.startswith("data.n_train=")]
        if setup.fidelity_trials:
            budget = [f"hydra.sweeper.n_trials={setup.fidelity_trials}"]
    return [sys.executable, "-m", "src.train", f"--config-dir={config_dir}", "+bench=search", *budget, *overrides]


def run_ours(method: str, seed: int, setup: Setup) -> dict[str, Any]:
    """One sweep of our sweeper in a fresh folder; trials and times read back from its stores."""
    workdir = setup.out / "sweeps" / f"{method}-seed{seed}"
    workdir.mkdir(parents=True)
    config_dir = write_preset(method, seed, workdir, setup)
    launched = time.time()
    done = subprocess.run(
        ours_command(config_dir, setup, method), cwd=workdir, env=setup.env, capture_output=True, text=True, check=False
    )
    wall = time.time() - launched
    (workdir / "stdout.txt").write_text(done.stdout + "\n--- stderr ---\n" + done.stderr)
    if done.returncode != 0:
        sys.exit(f"{method} seed {seed} exited {done.returncode}; see {workdir / 'stdout.txt'}:\n{done.stderr[-3000:]}")
    return {**read_ours(workdir, launched), "wall_s": wall}


def read_ours(workdir: Path, launched: float) -> dict[str, Any]:
    """Trials from the Optuna study, time spent inside Keras from the MLflow runs."""
    import mlflow
    import optuna

    storage = f"sqlite:///{workdir / 'mlruns' / 'optuna.db'}"
    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    trials = [
        {
            "number": t.number,
            "state": t.state.name,
            "value": t.value if t.state.name == "COMPLETE" else None,
            "epochs": len(t.intermediate_values),
            "start_s": t.datetime_start.timestamp() - launched,
            "end_s": (t.datetime_complete.timestamp() - launched) if t.datetime_complete else None,
        }
        for t in study.trials
        # A WAITING rerun (a fidelity trial the time budget stopped mid-ladder) never started.
        if t.datetime_start is not None
    ]
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    runs = mlflow.search_runs(search_all_experiments=True)
    # Trial runs carry the Optuna trial number; the sweep's parent run does not. With a fidelity
    # a trial has one run per level it reached: its time in Keras is theirs together.
    runs = runs[runs["tags.optuna_trial"].notna()] if "tags.optuna_trial" in runs else runs.iloc[0:0]
    by_number: dict[int, list[Any]] = {}
    for _, run in runs.iterrows():
        by_number.setdefault(int(run["tags.optuna_trial"]), []).append(run)
    in_run_overheads = []
    for trial in trials:
        fit_total, eval_total = float("nan"), float("nan")
        for run in by_number.get(trial["number"], []):
            fit = run.get("metrics.fit_seconds")
            if pd.isna(fit):
                # A pruned run logs no fit_seconds; its epochs' own times are what fit spent.
                fit = sum(m.value for m in client.get_metric_history(run["run_id"], "epoch_seconds"))
            evaluate, data = (
                0.0 if pd.isna(run.get(k)) else float(run.get(k)) for k in ("metrics.eval_seconds", "metrics.data_seconds")
            )
            fit_total = float(fit) + (0.0 if np.isnan(fit_total) else fit_total)
            eval_total = evaluate + (0.0 if np.isnan(eval_total) else eval_total)
            if run["status"] == "FINISHED":
                duration = (run["end_time"] - run["start_time"]).total_seconds()
                in_run_overheads.append(duration - fit - evaluate - data)
        trial.update(fit_s=fit_total, eval_s=eval_total)
    best = study.best_trial
    return {
        "trials": trials,
        "best_params": best.params,
        "best_value": best.value,
        "in_run_overhead_s": float(np.median(in_run_overheads)) if in_run_overheads else float("nan"),
    }


def run_peer(method: str, seed: int, setup: Setup) -> dict[str, Any]:
    out = setup.out / "peers" / f"{method}-seed{seed}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    launched = time.time()
    jobs = ["--n-jobs", "2"] if method == "plain_optuna_2jobs" else []
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "search_peers.py"),
        method.removesuffix("_2jobs"),
        *jobs,
        "--seed",
        str(seed),
        "--budget",
        str(setup.budget),
        "--out",
        str(out),
        "--launched",
        str(launched),
        "--overrides",
        *setup.overrides,
    ]
    done = subprocess.run(command, env=setup.env, capture_output=True, text=True, check=False)
    wall = time.time() - launched
    if done.returncode != 0:
        sys.exit(f"{method} seed {seed} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return {**json.loads(out.read_text()), "in_run_overhead_s": float("nan"), "wall_s": wall}


def summarize_run(method: str, seed: int, result: dict[str, Any]) -> dict[str, Any]:
    trials = pd.DataFrame(result["trials"])
    complete = trials[trials["value"].notna()].sort_values("end_s")
    reached = complete[complete["value"] >= result["best_value"]]["end_s"].min()
    outside_keras = trials["end_s"] - trials["start_s"] - trials["fit_s"] - trials["eval_s"]
    return {
        "method": method,
        "seed": seed,
        "trials": len(trials),
        "complete": int((trials["state"] == "COMPLETE").sum()),
        "pruned": int((trials["state"] == "PRUNED").sum()),
        "epochs_trained": int(trials["epochs"].sum()),
        "best_val_acc": result["best_value"],
        "seconds_to_best": float(reached),
        "wall_s": result["wall_s"],
        "startup_s": float(trials["start_s"].min()),
        "overhead_s_per_trial": float(outside_keras.median()),
        "outside_keras_s": float(result["wall_s"] - trials["fit_s"].sum() - trials["eval_s"].sum()),
        "in_run_overhead_s": result["in_run_overhead_s"],
        "best_params": json.dumps(result["best_params"], sort_keys=True),
    }


def refit(rows: pd.DataFrame, setup: Setup) -> pd.Series:
    """Full-test accuracy of each row's chosen configuration, trained once more (one process)."""
    configs = [json.loads(p) for p in rows["best_params"].unique()]
    (setup.out / "best_configs.json").write_text(json.dumps(configs, indent=1))
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "search_peers.py"),
        "refit",
        "--configs",
        str(setup.out / "best_configs.json"),
        "--out",
        str(setup.out / "refits.json"),
        "--overrides",
        *setup.overrides,
    ]
    done = subprocess.run(command, env=setup.env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"refit exited {done.returncode}:\n{done.stderr[-3000:]}")
    test_acc = {
        json.dumps(r["params"], sort_keys=True): r["test_acc"] for r in json.loads((setup.out / "refits.json").read_text())
    }
    return rows["best_params"].map(test_acc)


def interval95(values: pd.Series) -> tuple[float, float]:
    """Half-width of the 95% t interval of the mean (NaN for one seed)."""
    from scipy import stats

    n = values.count()
    return float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    columns = [
        "best_val_acc",
        "refit_test_acc",
        "seconds_to_best",
        "seconds_to_target",
        "trials",
        "epochs_trained",
        "startup_s",
        "overhead_s_per_trial",
        "outside_keras_s",
    ]
    rows = []
    for method, group in runs.groupby("method", sort=False):
        row = {"method": method, "seeds": len(group)}
        for column in (c for c in columns if c in group):
            row[f"{column}_mean"] = group[column].mean()
            row[f"{column}_ci95"] = interval95(group[column])
        rows.append(row)
    return pd.DataFrame(rows)


def reference_of(method: str) -> str:
    return REFERENCE.get(method, "plain_optuna")


def seconds_to_target(trials: pd.DataFrame, runs: pd.DataFrame) -> tuple[dict[str, float], pd.Series]:
    """The targets (each reference method's median best val_acc over its seeds) and, per run, the
    seconds from launch until a complete trial reached its reference's target (NaN: never)."""
    targets = {
        reference: float(runs.loc[runs["method"] == reference, "best_val_acc"].median())
        for reference in {reference_of(m) for m in runs["method"]} | {"plain_optuna"}
        if (runs["method"] == reference).any()
    }
    reached = []
    for _, row in runs.iterrows():
        target = targets.get(reference_of(row["method"]) if row["method"] not in targets else row["method"])
        mine = trials[(trials["method"] == row["method"]) & (trials["seed"] == row["seed"]) & trials["value"].notna()]
        hits = mine.loc[mine["value"] >= target - 1e-12, "end_s"] if target is not None else mine.iloc[0:0]["end_s"]
        reached.append(float(hits.min()) if len(hits) else float("nan"))
    return targets, pd.Series(reached, index=runs.index)


def paired_ratios(runs: pd.DataFrame, targets: dict[str, float]) -> pd.DataFrame:
    """Per method, the ratio of its time to the target to its reference's (reference_of), paired by
    seed: the geometric mean over seeds and its 95% t interval (on log ratios). A run that never
    reached the target counts with its whole wall time, a lower bound of its time to the target (so
    a ratio against a reference that missed it is too high, one of a method that missed it too
    low); `both_reached` says how many pairs are exact."""
    from scipy import stats

    rows = []
    for method, group in runs[~runs["method"].isin(targets)].groupby("method", sort=False):
        reference = reference_of(method)
        if reference not in targets:
            continue
        base = runs[runs["method"] == reference].set_index("seed")
        mine = group.set_index("seed")
        seeds = sorted(set(mine.index) & set(base.index))
        if not seeds:
            continue

        def bounded(frame: pd.DataFrame, seed: int) -> float:
            value = frame.loc[seed, "seconds_to_target"]
            return float(frame.loc[seed, "wall_s"]) if pd.isna(value) else float(value)

        logs = np.log([bounded(mine, seed) / bounded(base, seed) for seed in seeds])
        n = len(logs)
        half = float(stats.t.ppf(0.975, n - 1) * logs.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        rows.append(
            {
                "method": method,
                "reference": reference,
                "target_val_acc": targets[reference],
                "pairs": n,
                "both_reached": int(
                    sum(
                        mine.loc[s, "seconds_to_target"] == mine.loc[s, "seconds_to_target"]
                        and base.loc[s, "seconds_to_target"] == base.loc[s, "seconds_to_target"]
                        for s in seeds
                    )
                ),
                "ratio_geomean": float(np.exp(logs.mean())),
                "ratio_ci95_low": float(np.exp(logs.mean() - half)),
                "ratio_ci95_high": float(np.exp(logs.mean() + half)),
            }
        )
    return pd.DataFrame(rows)


def plot_best_so_far(trials: pd.DataFrame, budget: float, path: Path) -> None:
    """Best val_acc so far against wall time since launch: mean over seeds and min-max band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(0, trials["end_s"].max() if trials["end_s"].notna().any() else budget, 200)
    fig, ax = plt.subplots(figsize=(8, 5))
    finals = []
    for method, group in trials.groupby("method", sort=False):
        curves = []
        for _, seed_trials in group.groupby("seed"):
            done = seed_trials[seed_trials["value"].notna()].sort_values("end_s")
            best = done["value"].cummax().to_numpy()
            index = np.searchsorted(done["end_s"].to_numpy(), grid, side="right") - 1
            curves.append(np.where(index >= 0, best[np.clip(index, 0, None)] if len(best) else np.nan, np.nan))
        curves = np.array(curves, dtype=float)
        # Drawn from the moment every seed has a complete trial: a mean over the seeds that have
        # one so far would dip when a slower seed's first, worse trial joins it.
        mean, low, high = curves.mean(axis=0), curves.min(axis=0), curves.max(axis=0)
        finals.append(mean[-1])
        (line,) = ax.plot(grid, mean, label=method)
        ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.15)
    ax.axvline(budget, color="grey", linestyle=":", label="budget (counted from each search's start)")
    # Zoomed on where the methods end (first trials of a few epochs start far lower).
    if np.isfinite(finals).any():
        ax.set_ylim(bottom=np.nanmin(finals) - 0.04)
    ax.set_xlabel("wall seconds since the method's process started")
    ax.set_ylabel("best val_acc so far")
    ax.set_title("Best validation accuracy so far (mean over seeds; band: min-max)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def warm_cache(setup: Setup) -> None:
    """Tokenize the archive once before any method's clock starts, so none pays for it."""
    code = (
        "import sys; sys.argv=['x']; from hydra import compose, initialize_config_dir; "
        "from src.training.trainer import prepare_data; "
        f"initialize_config_dir(config_dir={str(ROOT / 'conf')!r}, version_base='1.3'); "
        f"prepare_data(compose(config_name='config', overrides={setup.overrides!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=setup.env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"preparing the data failed:\n{done.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"))
    parser.add_argument("--budget", type=float, default=180.0, help="wall seconds per method and seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {','.join(METHODS)}")
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--maxlen", type=int, default=100)
    parser.add_argument("--num-words", type=int, default=10000)
    parser.add_argument("--ours-trials", type=int, help="our sweeper runs this many trials instead of the time budget")
    parser.add_argument("--validation", choices=("fixed", "split"), default="fixed", help="see search_space.data_overrides")
    parser.add_argument("--fidelity-min", type=int, default=1000, help="lowest level of the data-size fidelity methods")
    parser.add_argument("--smoke", action="store_true", help="mini archive, small data, 8 s per method, 1 seed")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/search-<stamp>")
    parser.add_argument(
        "--finish", action="store_true", help="refit and summarize the searches an interrupted run left in --out"
    )
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        metavar="DIR",
        help="no searches: one summary, paired.csv and plot into --out from finished runs in DIRs "
        "(e.g. 8 paired seeds in one, more methods over seeds 1-3 in another)",
    )
    args = parser.parse_args()
    if args.combine:
        out = args.out or ROOT / "benchmarks" / "results" / f"search-combined-{time.strftime('%Y%m%d-%H%M%S')}"
        out.mkdir(parents=True, exist_ok=True)
        runs = pd.concat([pd.read_csv(d / "runs.csv") for d in args.combine], ignore_index=True)
        trials = pd.concat([pd.read_csv(d / "trials.csv") for d in args.combine], ignore_index=True)
        runs.to_csv(out / "runs.csv", index=False)
        trials.to_csv(out / "trials.csv", index=False)
        tables(runs, trials, out, args.budget)
        return
    if args.smoke:
        mini = ROOT.parent / "shared" / "data" / "aclImdb_mini.tar.gz"
        args.source = os.environ.get("SEQSWEEP_TEST_ARCHIVE", str(mini))
        args.budget, args.seeds, args.n_train, args.maxlen, args.num_words = 8.0, 1, 100, 20, 1000
        args.fidelity_min = 25
    methods = args.methods.split(",")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        sys.exit(f"error: --methods={','.join(unknown)} is not one of {', '.join(METHODS)}")
    ours_trials = args.ours_trials
    if not ours_trials and any(m in OURS for m in methods) and not sweeper_has_timeout():
        ours_trials = 2 if args.smoke else 20
        print(f"note: this sweeper has no hydra.sweeper.timeout; our methods run {ours_trials} trials each", flush=True)

    # Absolute: each of our sweeps runs in its own folder under it.
    out = (args.out or ROOT / "benchmarks" / "results" / f"search-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.setdefault("SEQSWEEP_CACHE_DIR", str(out / "data-cache"))
    source = str(Path(args.source).resolve())
    overrides = data_overrides(source, args.n_train, args.maxlen, args.num_words, args.validation)
    if args.smoke:
        overrides.append("trainer.validation_size=100")
    setup = Setup(
        source, overrides, args.budget, out, env, ours_trials, args.n_train, args.fidelity_min, 2 if args.smoke else None
    )
    (out / "setup.json").write_text(json.dumps(dataclasses.asdict(setup), default=str))
    if args.finish:
        runs = pd.read_csv(out / "runs-so-far.csv")
        # Only seeds every method finished: the pairs stay pairs.
        complete = runs.groupby("seed")["method"].nunique() == len(methods)
        runs = runs[runs["seed"].isin(complete[complete].index)].reset_index(drop=True)
        trials = pd.read_csv(out / "trials-so-far.csv")
        trials = trials[trials["seed"].isin(runs["seed"])]
        print(f"finishing {out}: seeds {sorted(runs['seed'].unique())}", flush=True)
        finish(runs, trials, setup, args, methods)
        return
    warm_cache(setup)

    rows, trial_rows = [], []
    for seed in range(1, args.seeds + 1):
        for method in methods:
            result = (run_ours if method in OURS else run_peer)(method, seed, setup)
            rows.append(summarize_run(method, seed, result))
            trial_rows.extend({"method": method, "seed": seed, **t} for t in result["trials"])
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "best_params"}), flush=True)
            # Written after every search, so an interrupted benchmark keeps what it measured
            # (--finish DIR then refits and summarizes what is there).
            pd.DataFrame(rows).to_csv(out / "runs-so-far.csv", index=False)
            pd.DataFrame(trial_rows).to_csv(out / "trials-so-far.csv", index=False)
    finish(pd.DataFrame(rows), pd.DataFrame(trial_rows), setup, args, methods)


def finish(runs: pd.DataFrame, trials: pd.DataFrame, setup: Setup, args: argparse.Namespace, methods: list[str]) -> None:
    """Refit each chosen configuration, then the tables and the plot."""
    out, ours_trials = setup.out, setup.ours_trials
    runs["refit_test_acc"] = refit(runs, setup)
    runs.to_csv(out / "runs.csv", index=False)
    trials.to_csv(out / "trials.csv", index=False)
    tables(runs, trials, out, args.budget)
    (out / "settings.json").write_text(
        json.dumps(
            {**vars(args), "out": str(out), "overrides": setup.overrides, "ours_trials": ours_trials}, indent=1, default=str
        )
    )


def tables(runs: pd.DataFrame, trials: pd.DataFrame, out: Path, budget: float) -> None:
    """summary.csv, paired.csv (where a reference method ran) and the plot, from runs and trials."""
    paired = pd.DataFrame()
    if any(m in set(runs["method"]) for m in ("plain_optuna", *REFERENCE.values())):
        targets, runs["seconds_to_target"] = seconds_to_target(trials, runs)
        paired = paired_ratios(runs, targets)
        paired.to_csv(out / "paired.csv", index=False)
        runs.to_csv(out / "runs.csv", index=False)
    summary = summary_table(runs)
    summary.to_csv(out / "summary.csv", index=False)
    plot_best_so_far(trials, budget, out / "best_val_acc_vs_time.png")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if not paired.empty:
        print(paired.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
