"""The MLflow side of a study: closing runs a dead sweep left RUNNING, and the study's results on the parent run.

Each trial's MLflow run carries the tags `optuna_study`, `optuna_trial` and `optuna_worker`
(set by the trial, `src/tracking/optuna_trial.py`), and each Optuna trial the user attribute
`mlflow_run_id`. The parent run of a sweep gets `optuna_study`, `optuna_storage`,
`optuna_objectives` and `optuna_directions`, and at the end the best trial or the Pareto front.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence

import mlflow
import optuna
import pandas as pd
from omegaconf import DictConfig
from optuna.trial import TrialState

from hydra_plugins.seqsweep_plugins.optuna_sweeper._study import worker_is_dead
from src.tracking.store import PARENT_RUN_ENV, connect


def close_abandoned_runs(tracking: DictConfig, study: optuna.Study) -> tuple[int, int]:
    """Close the RUNNING MLflow runs of this study that no live process will end.

    A trial's run is closed FAILED when its sweep process is gone or its Optuna trial is no
    longer RUNNING; the parent run of a dead sweep process is closed KILLED. Returns the
    numbers of trial and parent runs closed.
    """
    experiment_id = connect(tracking)
    client = mlflow.MlflowClient()
    runs = client.search_runs([experiment_id], filter_string=f"tags.optuna_study = '{_escaped(study.study_name)}'", max_results=50000)
    states = {trial.number: trial.state for trial in study.get_trials(deepcopy=False)}
    dead_workers = {w for w in {run.data.tags.get("optuna_worker") for run in runs} if w and worker_is_dead(w)}
    closed_trials, parents = 0, set()
    for run in runs:
        tags = run.data.tags
        dead = tags.get("optuna_worker") in dead_workers
        if dead and tags.get("mlflow.parentRunId"):
            parents.add(tags["mlflow.parentRunId"])
        number = tags.get("optuna_trial", "")
        ended = number.isdigit() and states.get(int(number)) not in (None, TrialState.RUNNING)
        if run.info.status == "RUNNING" and (dead or ended):
            client.set_tag(run.info.run_id, "error", "the sweep process died during this trial; closed when the study resumed")
            client.set_terminated(run.info.run_id, "FAILED")
            closed_trials += 1
    closed_parents = 0
    for parent_id in parents:
        if client.get_run(parent_id).info.status == "RUNNING":
            client.set_tag(parent_id, "error", "the sweep process died; closed when the study resumed")
            client.set_terminated(parent_id, "KILLED")
            closed_parents += 1
    return closed_trials, closed_parents


def parent_run_id() -> str | None:
    """The MLflow parent run of this sweep, once the first trial has created it."""
    return os.environ.get(PARENT_RUN_ENV)


def tag_parent(run_id: str, study: optuna.Study, storage_url: str, objectives: Sequence[str]) -> None:
    directions = [d.name.lower() for d in study.directions]
    mlflow.MlflowClient().log_batch(
        run_id,
        tags=[
            mlflow.entities.RunTag("optuna_study", study.study_name),
            mlflow.entities.RunTag("optuna_storage", _without_password(storage_url)),
            mlflow.entities.RunTag("optuna_objectives", ",".join(objectives)),
            mlflow.entities.RunTag("optuna_directions", ",".join(directions)),
        ],
    )


def store_results(run_id: str, best: pd.DataFrame, multi_objective: bool) -> None:
    """The best trial (one objective) or the Pareto front (two or more) on the parent run."""
    client = mlflow.MlflowClient()
    if multi_objective:
        client.log_text(run_id, best.to_csv(index=False), "pareto_front.csv")
        client.set_tag(run_id, "pareto_front_trials", ",".join(str(n) for n in best["trial"]))
    elif not best.empty:
        row = best.iloc[0].to_dict()
        client.log_text(run_id, json.dumps(row, indent=2, default=str), "best_trial.json")
        client.set_tag(run_id, "optuna_best_trial", str(row["trial"]))


def _without_password(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def _escaped(text: str) -> str:
    return text.replace("'", "\\'")
