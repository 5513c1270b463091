"""What a study prints when it ends: trial counts, then the best trial or the Pareto front."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import optuna
import pandas as pd
from omegaconf import OmegaConf
from optuna.trial import FrozenTrial

from hydra_plugins.seqsweep_plugins.engine.best_rule import BestRule, Candidate, best_so_far
from hydra_plugins.seqsweep_plugins.engine.console import readable_number, significant


def state_counts(study: optuna.Study) -> str:
    counts = Counter(trial.state.name.lower() for trial in study.get_trials(deepcopy=False))
    order = ["complete", "pruned", "fail", "running", "waiting"]
    return ", ".join(f"{counts[state]} {state if state != 'fail' else 'failed'}" for state in order if counts[state])


def best_trials(
    study: optuna.Study, objectives: Sequence[str], rule: BestRule | None = None
) -> tuple[pd.DataFrame, str | None]:
    """The best trial (one objective) or every trial of the Pareto front (two or more), among the
    completed trials `rule` allows, as rows of trial number, objective values, what they were
    measured on, searched params and the MLflow run id; with no row, why."""
    rule = rule or BestRule()
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    by_number = {trial.number: trial for trial in complete}
    directions = [d.name.lower() for d in study.directions]
    measured = [Candidate(t.number, t.values, rule.evidence(t.user_attrs)) for t in sorted(complete, key=lambda t: t.number)]
    allowed = best_so_far(rule, directions[0], measured)
    if len(directions) == 1:
        best = allowed.best()
        trials = [] if best is None else [by_number[best.number]]
    else:
        trials = _pareto_front([by_number[c.number] for c in allowed.eligible()], study.directions)
    return pd.DataFrame([_row(trial, objectives, rule) for trial in trials]), allowed.reason()


def _pareto_front(trials: list[FrozenTrial], directions: Sequence[optuna.study.StudyDirection]) -> list[FrozenTrial]:
    """The Pareto front of `trials` alone: Optuna computes fronts of a whole study, so the allowed
    trials are copied into a study of their own (in memory) to use its `best_trials`."""
    if not trials:
        return []
    allowed = optuna.create_study(directions=list(directions))
    allowed.add_trials(trials)
    front = {trial.number for trial in allowed.best_trials}  # numbered 0.. in the order added
    return [trial for position, trial in enumerate(trials) if position in front]


def describe(
    best: pd.DataFrame,
    objectives: Sequence[str],
    directions: Sequence[str],
    rule: BestRule | None = None,
    reason: str | None = None,
) -> str:
    rule = rule or BestRule()
    if best.empty:
        return f"[optuna] no best trial: {reason or 'no trial completed'}"
    if len(objectives) == 1:
        row = best.iloc[0]
        params = " ".join(
            f"{key}={readable_number(str(row[key]))}" for key in best.columns if key not in _not_params(objectives, rule)
        )
        lines = [
            f"[optuna] best trial #{row['trial']}: {objectives[0]}={significant(row[objectives[0]])} ({directions[0]})"
            f"{rule.size_label(row.to_dict())}",
            f"[optuna] best params: {params}",
        ]
        if row["mlflow_run_id"]:
            lines.append(f"[optuna] best trial's MLflow run: {row['mlflow_run_id']}")
        return "\n".join(lines)
    goals = ", ".join(f"{d} {o}" for o, d in zip(objectives, directions))
    return f"[optuna] Pareto front ({len(best)} trials; {goals}):\n" + best.to_string(index=False, float_format=significant)


def _not_params(objectives: Sequence[str], rule: BestRule) -> set[str]:
    return {"trial", "mlflow_run_id", *objectives, *(key for key in (rule.size_key, rule.set_key) if key)}


def _row(trial: FrozenTrial, objectives: Sequence[str], rule: BestRule) -> dict:
    return {
        "trial": trial.number,
        **dict(zip(objectives, trial.values)),
        **rule.evidence(trial.user_attrs),
        **trial.params,
        "mlflow_run_id": trial.user_attrs.get("mlflow_run_id", ""),
    }


def write_optimization_results(
    sweep_dir: Path, best: pd.DataFrame, objectives: Sequence[str], directions: Sequence[str], rule: BestRule | None = None
) -> Path:
    """`optimization_results.yaml` in the sweep folder, in hydra-optuna-sweeper's shape: `best_params`
    and `best_value` for one objective, `solutions` (params and values of the Pareto front) for more."""
    results: dict = {"name": "optuna"}
    rows = best.to_dict("records")
    rule = rule or BestRule()
    not_params = _not_params(objectives, rule)
    params_of = lambda row: {k: _plain(v) for k, v in row.items() if k not in not_params}  # noqa: E731
    if len(directions) == 1:
        if rows:
            results["best_params"] = params_of(rows[0])
            results["best_value"] = _plain(rows[0][objectives[0]])
            # What the value was measured on (n_val=2500): a value without its size is easy to over-read.
            results.update({key: _plain(rows[0][key]) for key in (rule.size_key, rule.set_key) if key and key in rows[0]})
    else:
        results["solutions"] = [{"params": params_of(row), "values": [_plain(row[o]) for o in objectives]} for row in rows]
    path = Path(sweep_dir) / "optimization_results.yaml"
    OmegaConf.save(OmegaConf.create(results), path)
    return path


def _plain(value: object) -> object:
    """numpy scalars as plain Python values, which OmegaConf can store."""
    return value.item() if hasattr(value, "item") else value
