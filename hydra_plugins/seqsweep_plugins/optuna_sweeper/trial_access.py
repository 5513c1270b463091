"""A job's Optuna trial, opened from the study's storage in whatever process runs the job."""

from __future__ import annotations

from typing import Any

import optuna
from hydra.utils import instantiate

from hydra_plugins.seqsweep_plugins.engine.job_context import TrialHandle
from hydra_plugins.seqsweep_plugins.optuna_sweeper.patient_storage import PatientRDBStorage


def open_trial(handle: TrialHandle) -> optuna.Trial:
    """The running trial `handle` names, with the study's pruner so `should_prune()` decides as the sweep would."""
    if handle.storage_url is None:
        raise RuntimeError("an in-memory study (hydra.sweeper.storage=null) can only run its trials in the sweeping process")
    study = optuna.load_study(
        study_name=handle.study_name,
        storage=PatientRDBStorage(handle.storage_url, handle.store_outage_s, wait_to_open=True),
        sampler=optuna.samplers.RandomSampler(),  # never used here: the sweeper samples
        pruner=build_pruner(handle.pruner),
    )
    return optuna.trial.Trial(study, handle.trial_id)


def build_pruner(settings: Any) -> optuna.pruners.BasePruner:
    return instantiate(settings) if settings else optuna.pruners.NopPruner()
