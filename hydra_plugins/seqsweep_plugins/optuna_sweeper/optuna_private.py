"""The private Optuna APIs the Optuna sweeper uses, with why (checked against optuna 5.1;
tests/test_private_api.py fails when an Optuna release changes them).

- `Study._storage` and `Trial._trial_id`: an ask-and-tell sweeper must address the asked trial in
  the storage (to read it back as a FrozenTrial for Optuna's own RetryHeartbeatStaleTrialCallback,
  and to open the same trial in a worker process: `optuna.trial.Trial(study, trial_id)`). Optuna's
  own storages and callbacks address trials this way; there is no public accessor.
- `CACHE_CALLS`: the private RDBStorage methods Optuna's own cache in front of it
  (`_CachedStorage`) calls. The patient storage must wait out an outage in those as in the
  public ones, and no public list names them (test_patient_storage.py reads the cache's source).
- `RETRIED_TRIAL_ATTR`: the system attribute Optuna's retry callback writes on a rerun, naming
  the trial it repeats. Optuna's reader of it (`retried_trial_number`) is experimental and warns
  at every call (~10 us with the warning filtered); the budget count before each ask reads it for
  every trial of the study, which made the count 100 ms at 10,000 trials.
"""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial

RETRIED_TRIAL_ATTR = "failed_trial"

CACHE_CALLS = ["_create_new_trial", "_get_best_trial_id", "_get_stale_trial_ids", "_get_trials", "_set_trial_param"]


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    return study._storage


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    return trial._trial_id


def frozen(study: optuna.Study, trial: optuna.Trial | FrozenTrial) -> FrozenTrial:
    """The trial as the storage holds it now."""
    return study._storage.get_trial(trial._trial_id)


def retried_trial_numbers(trials: list[FrozenTrial]) -> set[int]:
    """The numbers of the trials that `trials` holds reruns of."""
    return {number for t in trials if (number := t.system_attrs.get(RETRIED_TRIAL_ATTR)) is not None}
