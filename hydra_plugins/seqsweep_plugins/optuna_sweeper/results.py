"""What a study prints when it ends: trial counts, then the best trial or the Pareto front."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import optuna
import pandas as pd
from omegaconf import OmegaConf
from optuna.trial import FrozenTrial

from hydra_plugins.seqsweep_plugins.engine.console import readable_number, significant


def state_counts(study: optuna.Study) -> str:
    counts = Counter(trial.state.name.lower() for trial in study.get_trials(deepcopy=False))
    order = ["complete", "pruned", "fail", "running", "waiting"]
    return ", ".join(f"{counts[state]} {state if state != 'fail' else 'failed'}" for state in order if counts[state])


def best_trials(study: optuna.Study, objectives: Sequence[str]) -> pd.DataFrame:
    """The best trial (one objective) or every trial of the Pareto front (two or more), as rows of
    trial number, objective values, searched params and the MLflow run id."""
    if len(study.directions) == 1:
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        trials = [study.best_trial] if complete else []
    else:
        trials = sorted(study.best_trials, key=lambda trial: trial.number)
    return pd.DataFrame([_row(trial, objectives) for trial in trials])


def describe(best: pd.DataFrame, objectives: Sequence[str], directions: Sequence[str]) -> str:
    if best.empty:
        return "[optuna] no trial completed, so there is no best trial"
    if len(objectives) == 1:
        row = best.iloc[0]
        params = " ".join(
            f"{key}={readable_number(str(row[key]))}"
            for key in best.columns
            if key not in {"trial", *objectives, "mlflow_run_id"}
        )
        lines = [
            f"[optuna] best trial #{row['trial']}: {objectives[0]}={significant(row[objectives[0]])} ({directions[0]})",
            f"[optuna] best params: {params}",
        ]
        if row["mlflow_run_id"]:
            lines.append(f"[optuna] best trial's MLflow run: {row['mlflow_run_id']}")
        return "\n".join(lines)
    goals = ", ".join(f"{d} {o}" for o, d in zip(objectives, directions))
    return f"[optuna] Pareto front ({len(best)} trials; {goals}):\n" + best.to_string(index=False, float_format=significant)


def _row(trial: FrozenTrial, objectives: Sequence[str]) -> dict:
    return {
        "trial": trial.number,
        **dict(zip(objectives, trial.values)),
        **trial.params,
        "mlflow_run_id": trial.user_attrs.get("mlflow_run_id", ""),
    }


def write_optimization_results(
    sweep_dir: Path, best: pd.DataFrame, objectives: Sequence[str], directions: Sequence[str]
) -> Path:
    """`optimization_results.yaml` in the sweep folder, in hydra-optuna-sweeper's shape: `best_params`
    and `best_value` for one objective, `solutions` (params and values of the Pareto front) for more."""
    results: dict = {"name": "optuna"}
    rows = best.to_dict("records")
    params_of = lambda row: {k: _plain(v) for k, v in row.items() if k not in {"trial", "mlflow_run_id", *objectives}}  # noqa: E731
    if len(directions) == 1:
        if rows:
            results["best_params"] = params_of(rows[0])
            results["best_value"] = _plain(rows[0][objectives[0]])
    else:
        results["solutions"] = [{"params": params_of(row), "values": [_plain(row[o]) for o in objectives]} for row in rows]
    path = Path(sweep_dir) / "optimization_results.yaml"
    OmegaConf.save(OmegaConf.create(results), path)
    return path


def _plain(value: object) -> object:
    """numpy scalars as plain Python values, which OmegaConf can store."""
    return value.item() if hasattr(value, "item") else value
