"""Can the training-set size stand in for the full training set while a search compares models?

Before trusting data-size fidelity (hydra.sweeper.fidelity), measure on the search benchmark's
space (benchmarks/search_space.py) whether a configuration's val_acc on a small training set
ranks configurations as they rank on the large one, and what each level costs. One command of
ours does it: an Optuna sweep with the random sampler, no pruner and a fidelity ladder, so every
configuration climbs every level (1,000, 3,000, 5,000 reviews by default), each level validated
on the same fixed 2,500 reviews; then, from its MLflow runs:

    spearman.csv   Spearman's rank correlation of val_acc at each level with val_acc at the top
                   level, over the configurations, with a 95% interval (Fisher z)
    levels.csv     per level: median and mean seconds in fit, in data and for the whole run
    runs.csv       one row per configuration and level
    scatter.png    val_acc at each lower level against val_acc at the top, per configuration

    python benchmarks/fidelity_ground_truth.py --source ../shared/data/aclImdb_v1_labeled.tar.gz [--configs 30]
    python benchmarks/fidelity_ground_truth.py --analyze benchmarks/results/fidelity-ground-truth-<stamp>
    python benchmarks/fidelity_ground_truth.py --smoke     # mini archive, tiny levels, 4 configurations

Run it alone on an idle machine: the costs are wall seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.search_space import MAX_EPOCHS, hydra_params


def write_preset(workdir: Path, configs: int, levels: dict[str, int], seed: int) -> Path:
    """The sweep as a preset (a dict cannot be merged into a null node from the command line)."""
    from omegaconf import OmegaConf

    preset = {
        "defaults": [{"override /hydra/sweeper": "optuna"}],
        "hydra": {
            "mode": "MULTIRUN",
            "sweeper": {
                "objectives": ["val_acc"],
                "direction": "maximize",
                "n_trials": configs,
                "sampler": {"_target_": "optuna.samplers.RandomSampler", "seed": seed},
                "pruner": None,
                "fidelity": {"key": "data.n_train", **levels, "curve_stop": False},
                "params": hydra_params(),
            },
        },
    }
    path = workdir / "conf" / "bench" / "ground_truth.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("# @package _global_\n" + OmegaConf.to_yaml(preset))
    return workdir / "conf"


def run_sweep(args: argparse.Namespace, out: Path) -> None:
    workdir = out / "sweep"
    workdir.mkdir(parents=True)
    levels = {"min": args.min, "max": args.max, "reduction_factor": args.factor}
    config_dir = write_preset(workdir, args.configs, levels, args.seed)
    overrides = [
        f"data.source={Path(args.source).resolve()}",
        f"data.maxlen={args.maxlen}",
        f"data.num_words={args.num_words}",
        "trainer.validation=fixed",
        *([f"trainer.validation_size={args.validation_size}"] if args.validation_size else []),
        f"trainer.epochs={MAX_EPOCHS}",
        "trainer.seed=0",
        "trainer.evaluate_test=false",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [sys.executable, "-m", "src.train", f"--config-dir={config_dir}", "+bench=ground_truth", *overrides]
    started = time.time()
    with open(workdir / "stdout.txt", "w") as log:
        done = subprocess.run(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        sys.exit(f"the sweep exited {done.returncode}; see {workdir / 'stdout.txt'}")
    (out / "settings.json").write_text(
        json.dumps({**vars(args), "overrides": overrides, "wall_s": time.time() - started}, indent=1, default=str)
    )


def read_runs(out: Path) -> pd.DataFrame:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{out / 'sweep' / 'mlruns' / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True)
    runs = runs[runs["tags.fidelity_level"].notna() & (runs["status"] == "FINISHED")]
    table = pd.DataFrame(
        {
            "config": runs["tags.optuna_trial"].astype(int),
            "level": runs["tags.fidelity_level"].astype(int),
            "model": runs["params.model.name"],
            "units": runs["params.model.units"],
            "optimizer": runs["tags.optimizer"],
            "learning_rate": runs["params.optimizer.learning_rate"].astype(float),
            "dropout": runs["params.model.dropout"].astype(float),
            "val_acc": runs["metrics.val_acc"],
            "n_train": runs["metrics.n_train"],
            "n_val": runs["metrics.n_val"],
            "fit_s": runs["metrics.fit_seconds"],
            "data_s": runs["metrics.data_seconds"],
            "run_s": (runs["end_time"] - runs["start_time"]).dt.total_seconds(),
        }
    )
    return table.sort_values(["config", "level"]).reset_index(drop=True)


def spearman_table(runs: pd.DataFrame) -> pd.DataFrame:
    from scipy import stats

    wide = runs.pivot(index="config", columns="level", values="val_acc").dropna()
    top = max(wide.columns)
    rows = []
    for level in sorted(wide.columns):
        if level == top:
            continue
        rho, p = stats.spearmanr(wide[level], wide[top])
        n = len(wide)
        # Fisher z interval for a rank correlation (Bonett and Wright's standard error).
        se = math.sqrt((1 + rho**2 / 2) / (n - 3)) if n > 3 else float("nan")
        z = math.atanh(min(max(rho, -0.9999), 0.9999))
        rows.append(
            {
                "level": level,
                "top": top,
                "configs": n,
                "spearman": rho,
                "ci95_low": math.tanh(z - 1.96 * se),
                "ci95_high": math.tanh(z + 1.96 * se),
                "p_value": p,
                # Would the level's best be among the top level's best 5?
                "top5_overlap": len(set(wide[level].nlargest(5).index) & set(wide[top].nlargest(5).index)),
            }
        )
    return pd.DataFrame(rows)


def cost_table(runs: pd.DataFrame) -> pd.DataFrame:
    grouped = runs.groupby("level")
    table = grouped.agg(
        configs=("config", "count"),
        n_train=("n_train", "median"),
        fit_s_median=("fit_s", "median"),
        fit_s_mean=("fit_s", "mean"),
        data_s_median=("data_s", "median"),
        run_s_median=("run_s", "median"),
        run_s_mean=("run_s", "mean"),
    ).reset_index()
    table["run_s_share_of_top"] = table["run_s_mean"] / table["run_s_mean"].iloc[-1]
    return table


def scatter(runs: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wide = runs.pivot(index="config", columns="level", values="val_acc").dropna()
    models = runs.drop_duplicates("config").set_index("config")["model"]
    top = max(wide.columns)
    lower = [level for level in sorted(wide.columns) if level != top]
    colours = {"simplernn": "tab:blue", "lstm": "tab:orange", "gru": "tab:green"}
    fig, axes = plt.subplots(1, len(lower), figsize=(5 * len(lower), 4.6), squeeze=False)
    table = spearman_table(runs).set_index("level")
    for ax, level in zip(axes[0], lower):
        for model, colour in colours.items():
            chosen = wide[models.reindex(wide.index) == model]
            ax.scatter(chosen[level], chosen[top], s=22, color=colour, label=model, alpha=0.8)
        span = [min(wide.min()), max(wide.max())]
        ax.plot(span, span, color="grey", linestyle=":", linewidth=1)
        rho = table.loc[level]
        ax.set_title(
            f"{level:,} vs {top:,} reviews: Spearman {rho.spearman:.2f} [{rho.ci95_low:.2f}, {rho.ci95_high:.2f}]", fontsize=10
        )
        ax.set_xlabel(f"val_acc trained on {level:,} reviews")
        ax.set_ylabel(f"val_acc trained on {top:,} reviews")
        ax.legend(fontsize=8)
    fig.suptitle(
        f"{len(wide)} random configurations of the search space, 4 epochs, the same 2,500 validation reviews", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def analyze(out: Path) -> None:
    runs = read_runs(out)
    runs.to_csv(out / "runs.csv", index=False)
    spearman = spearman_table(runs)
    spearman.to_csv(out / "spearman.csv", index=False)
    costs = cost_table(runs)
    costs.to_csv(out / "levels.csv", index=False)
    scatter(runs, out / "scatter.png")
    print(spearman.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(costs.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"results: {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"))
    parser.add_argument("--configs", type=int, default=30)
    parser.add_argument("--min", type=int, default=1000)
    parser.add_argument("--max", type=int, default=5000)
    parser.add_argument("--factor", type=int, default=3)
    parser.add_argument("--maxlen", type=int, default=100)
    parser.add_argument("--num-words", type=int, default=10000)
    parser.add_argument("--validation-size", type=int, help="default: the app's (2,500 on the full archive)")
    parser.add_argument("--seed", type=int, default=0, help="the random sampler's seed")
    parser.add_argument("--analyze", type=Path, help="only read an earlier run's folder again")
    parser.add_argument("--smoke", action="store_true", help="mini archive, levels 50-200, 4 configurations")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/fidelity-ground-truth-<stamp>")
    args = parser.parse_args()
    if args.analyze:
        analyze(args.analyze)
        return
    if args.smoke:
        args.source = os.environ.get("SEQSWEEP_TEST_ARCHIVE", str(ROOT.parent / "shared" / "data" / "aclImdb_mini.tar.gz"))
        args.configs, args.min, args.max, args.factor, args.maxlen, args.num_words = 5, 50, 200, 2, 20, 1000
        args.validation_size = 100
    out = args.out or ROOT / "benchmarks" / "results" / f"fidelity-ground-truth-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    run_sweep(args, out)
    analyze(out)


if __name__ == "__main__":
    main()
