"""The peers of benchmarks/search_efficiency.py, and the refit of every method's best configuration.

Each runs as its own process, started by search_efficiency.py, so that every method pays
Python's and TensorFlow's start-up as our sweeper's command does:

    python benchmarks/search_peers.py plain_optuna --seed 1 --budget 180 --out r.json --overrides data.source=... ...
    python benchmarks/search_peers.py plain_optuna --n-jobs 2 ...     # two trials at once, in threads
    python benchmarks/search_peers.py keras_tuner  --seed 1 --budget 180 --out r.json --overrides ...
    python benchmarks/search_peers.py refit --configs best.json --out refit.json --overrides ...

Both peers call the project's own loader and builder (src.training.trainer.prepare_data and
build_model) on configs composed once at start, and nothing of Hydra's sweep machinery or MLflow.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

import src  # noqa: F401  (quiets TensorFlow before it is imported)
from benchmarks.search_space import (
    GROUP_KEYS,
    MAX_EPOCHS,
    SPACE,
    Choice,
    suggest_keras_tuner,
    suggest_optuna,
)
from src.training.trainer import build_model, prepare_data, train

# When search_efficiency.py started this process (--launched), the origin of `start_s` and `end_s`.
LAUNCHED = time.time()


def composed_configs(overrides: list[str]) -> dict[tuple, DictConfig]:
    """One composed config per combination of config groups (model x optimizer), so a trial
    only sets plain values and never composes."""
    choices = [dim.values for dim in SPACE if isinstance(dim, Choice) and dim.key in GROUP_KEYS]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return {
            combo: compose(config_name="config", overrides=[*overrides, *(f"{k}={v}" for k, v in zip(GROUP_KEYS, combo))])
            for combo in itertools.product(*choices)
        }


def trial_config(configs: dict[tuple, DictConfig], point: dict[str, Any]) -> DictConfig:
    cfg = configs[tuple(point[key] for key in GROUP_KEYS)].copy()
    for key, value in point.items():
        if key not in GROUP_KEYS:
            OmegaConf.update(cfg, key, value)
    return cfg


class FitClock(keras.callbacks.Callback):
    """Seconds inside each `model.fit`, as our trials' `fit_seconds` measure them.

    Kept on the class by default: Keras Tuner deep-copies the callbacks it is given for every
    trial. A clock given its own list (`own=True`) keeps them apart, for trials in threads.
    Updated at every epoch's end too, so a fit that a pruner stops by raising still counts.
    """

    seconds: ClassVar[list[float]] = []

    def __init__(self, own: bool = False) -> None:
        super().__init__()
        if own:
            self.seconds = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._begun = time.perf_counter()
        self.seconds.append(0.0)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds[-1] = time.perf_counter() - self._begun

    def on_train_end(self, logs: dict | None = None) -> None:
        self.seconds[-1] = time.perf_counter() - self._begun


def fit(cfg: DictConfig, data, callbacks: list, epochs: int, threads: bool = False) -> dict[str, list[float]]:
    """The trainer's recipe without its tracking: fresh session, seed, build, fit; the history.

    With trials in threads (`threads`) the session is not cleared: clearing Keras' global state
    under a model another thread is training is what a user writing n_jobs=2 learns to avoid.
    """
    if not threads:
        keras.backend.clear_session()
    keras.utils.set_random_seed(cfg.trainer.seed)
    model = build_model(cfg, data)
    history = model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
        batch_size=cfg.trainer.batch_size,
        callbacks=callbacks if any(isinstance(c, FitClock) for c in callbacks) else [FitClock(), *callbacks],
        verbose=0,
    )
    return history.history


def run_plain_optuna(overrides: list[str], seed: int, budget: float, n_jobs: int = 1) -> dict[str, Any]:
    """TPE + median pruner, as a user would write it by hand with Optuna's own timeout
    (`n_jobs` > 1: Optuna's own parallelism, that many trials in threads of this process)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    configs = composed_configs(overrides)
    data = prepare_data(next(iter(configs.values())))
    records: list[dict[str, Any]] = []

    class ReportValAcc(keras.callbacks.Callback):
        # optuna-integration's Keras callback is a separate package; these lines are all it does.
        def __init__(self, trial: optuna.Trial) -> None:
            super().__init__()
            self.trial = trial
            self.epochs = 0

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.epochs = epoch + 1
            self.trial.report(float(logs["val_acc"]), step=epoch)
            if epoch + 1 < MAX_EPOCHS and self.trial.should_prune():
                raise optuna.TrialPruned()

    def objective(trial: optuna.Trial) -> float:
        cfg = trial_config(configs, suggest_optuna(trial))
        record = {"number": trial.number, "state": "PRUNED", "value": None, "eval_s": 0.0, "start_s": time.time() - LAUNCHED}
        records.append(record)
        reporter = ReportValAcc(trial)
        clock = FitClock(own=True)
        try:
            history = fit(cfg, data, [clock, reporter], MAX_EPOCHS, threads=n_jobs > 1)
        finally:
            record["fit_s"] = sum(clock.seconds)
            record["epochs"] = reporter.epochs
            record["end_s"] = time.time() - LAUNCHED
        record.update(state="COMPLETE", value=float(history["val_acc"][-1]))
        return record["value"]

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=5),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
    )
    study.optimize(objective, timeout=budget, n_jobs=n_jobs)
    return {"trials": records, "best_params": study.best_params, "best_value": study.best_value}


def run_keras_tuner(overrides: list[str], seed: int, budget: float) -> dict[str, Any]:
    """Keras Tuner's Hyperband (max_epochs 4, factor 3); it has no time budget, so no new trial
    is created once `budget` seconds have passed (the check our sweeper's timeout makes)."""
    import keras_tuner

    configs = composed_configs(overrides)
    data = prepare_data(next(iter(configs.values())))
    records: list[dict[str, Any]] = []
    search_start = time.perf_counter()

    class BudgetSpent(Exception):
        pass

    class TimedHyperband(keras_tuner.Hyperband):
        def pre_create_trial(self) -> None:
            if time.perf_counter() - search_start > budget:
                raise BudgetSpent
            super().pre_create_trial()

        def run_trial(self, trial, *args, **kwargs):
            started = time.time() - LAUNCHED
            FitClock.seconds.clear()
            try:
                return super().run_trial(trial, *args, **kwargs)
            finally:
                values = trial.hyperparameters.values
                records.append(
                    {
                        "number": len(records),
                        "start_s": started,
                        "fit_s": sum(FitClock.seconds),
                        "eval_s": 0.0,
                        "epochs": values["tuner/epochs"] - values.get("tuner/initial_epoch", 0),
                    }
                )

        def on_trial_end(self, trial) -> None:
            super().on_trial_end(trial)
            score = self.oracle.get_trial(trial.trial_id).score
            records[-1].update(
                end_s=time.time() - LAUNCHED,
                state="COMPLETE" if score is not None else "FAIL",
                value=None if score is None else float(score),
            )

    def build(hp) -> keras.Model:
        keras.backend.clear_session()
        return build_model(trial_config(configs, suggest_keras_tuner(hp)), data)

    with tempfile.TemporaryDirectory() as directory:
        tuner = TimedHyperband(
            build,
            objective=keras_tuner.Objective("val_acc", direction="max"),
            max_epochs=MAX_EPOCHS,
            factor=3,
            hyperband_iterations=1000,
            seed=seed,
            directory=directory,
            project_name="imdb",
            overwrite=True,
        )
        cfg = next(iter(configs.values()))
        try:
            tuner.search(
                data.x_train,
                data.y_train,
                validation_data=(data.x_val, data.y_val),
                batch_size=cfg.trainer.batch_size,
                callbacks=[FitClock()],
                verbose=0,
            )
        except BudgetSpent:
            pass
        best = tuner.oracle.get_best_trials(1)[0]
    best_params = {dim.key: best.hyperparameters.values[dim.key] for dim in SPACE}
    return {"trials": records, "best_params": best_params, "best_value": float(best.score)}


def run_refits(overrides: list[str], configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Train each best configuration once more for the full MAX_EPOCHS (same data, fixed seed)
    and evaluate it on the full test set, as the trainer does for any run."""
    results = []
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        for params in configs:
            cfg = compose(
                config_name="config",
                overrides=[
                    *overrides,
                    "data.n_test=null",
                    "trainer.evaluate_test=true",
                    *(f"{key}={value}" for key, value in params.items()),
                ],
            )
            metrics = train(cfg, verbose=0).metrics
            results.append({"params": params, "test_acc": metrics["test_acc"], "val_acc": metrics["val_acc"]})
            print(json.dumps(results[-1]), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("method", choices=["plain_optuna", "keras_tuner", "refit"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=1, help="plain_optuna: trials at once (threads)")
    parser.add_argument("--budget", type=float, default=180.0)
    parser.add_argument("--configs", type=Path, help="refit: a JSON list of best configurations")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--launched", type=float, help="time.time() when the caller started this process")
    parser.add_argument("--overrides", nargs="*", default=[], help="the data overrides (Hydra syntax)")
    args = parser.parse_args()
    global LAUNCHED
    LAUNCHED = args.launched or LAUNCHED
    if args.method == "refit":
        result: Any = run_refits(args.overrides, json.loads(args.configs.read_text()))
    else:
        if args.method == "plain_optuna":
            result = run_plain_optuna(args.overrides, args.seed, args.budget, args.n_jobs)
        else:
            result = run_keras_tuner(args.overrides, args.seed, args.budget)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
