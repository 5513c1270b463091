"""The study's storage, its default name, heartbeats, and recovering trials of a process that died.

A resumed study must not keep a trial RUNNING forever because the process that ran it was
killed (`kill -9`, a lost machine). Two signs tell such a trial apart from one that another
live process is running right now:

- its `worker` user attribute (`host:pid`, set when the trial is asked) names a process of
  this machine that no longer exists, or is missing (the asking process stopped in the middle
  of the ask, e.g. when the study's database went away): recognised at once;
- its Optuna heartbeat (sent every `heartbeat_interval` seconds while it runs) is older
  than two intervals (Optuna's `fail_stale_trials`): works across machines, e.g. on PostgreSQL.

Either way the trial is marked FAIL (the first kind with the reason in its `error` user attribute).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError, first_line
from hydra_plugins.seqsweep_plugins.engine.owners import THIS_PROCESS, process_is_gone
from hydra_plugins.seqsweep_plugins.engine.secrets import mask_secrets
from hydra_plugins.seqsweep_plugins.engine.stores import absolute_url, database_lock
from hydra_plugins.seqsweep_plugins.optuna_sweeper.optuna_private import retried_trial_numbers, trial_id
from hydra_plugins.seqsweep_plugins.optuna_sweeper.patient_storage import PatientRDBStorage

WORKER = THIS_PROCESS
# user attribute `failure` of a FAIL trial that failed outside the trial itself (not counted, run again).
INFRASTRUCTURE = "infrastructure"


@contextmanager
def heartbeat_apis() -> Iterator[None]:
    """Around the calls to Optuna's heartbeat and retry helpers. They are Optuna's own way to find
    trials of dead processes, but it calls them experimental and expects Study.optimize, while a
    Hydra sweeper must ask and tell: neither warning asks the user to do anything. Scoped to the
    calls, so no filter of ours changes what other code is warned about."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
        yield


def retried_trial_number(trial: FrozenTrial) -> int | None:
    """The trial this one reruns (Optuna's RetryHeartbeatStaleTrialCallback records it), or None."""
    with heartbeat_apis():
        return RetryHeartbeatStaleTrialCallback.retried_trial_number(trial)


def enqueue_rerun(study: optuna.Study, trial: FrozenTrial, keep_levels: bool = False) -> None:
    """A WAITING copy of the failed `trial`, naming the trial it repeats; with `keep_levels` (a
    fidelity's ladder) it inherits the values reported at the levels the trial finished."""
    with heartbeat_apis():
        RetryAsNewAttempt(max_retry=None, inherit_intermediate_values=keep_levels)(study, trial)


class RetryAsNewAttempt(RetryHeartbeatStaleTrialCallback):
    """Optuna's callback that enqueues a WAITING copy of a failed trial (same parameters, naming the
    trial it repeats), minus the user attributes of the failed attempt: Optuna copies them all, so
    a rerun that completed still said `failure=infrastructure` with the old error, and a rerun that
    failed by itself was taken for an infrastructure failure and not counted toward n_trials."""

    ATTEMPT_ATTRS = ("failure", "error", "worker", "mlflow_run_id")

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        attempt = copy.deepcopy(trial)
        attempt.user_attrs = {k: v for k, v in trial.user_attrs.items() if k not in self.ATTEMPT_ATTRS}
        super().__call__(study, attempt)


def open_storage(
    url: str | None, heartbeat_interval: int | None, keep_levels: bool = False, outage_s: float = 60
) -> optuna.storages.BaseStorage:
    """RDBStorage for `url` (a relative SQLite path is taken from the working directory and its
    folder created) whose calls wait up to `outage_s` seconds for a database that cannot be reached
    (patient_storage.py), or an in-memory storage for None. `keep_levels`: see enqueue_rerun."""
    if url is None:
        return optuna.storages.InMemoryStorage()
    url = absolute_url(url)
    heartbeat = (
        {"heartbeat_interval": heartbeat_interval, "grace_period": 2 * heartbeat_interval} if heartbeat_interval else {}
    )
    try:
        # Two sweeps started together would both create the schema ("table trials already exists").
        with database_lock(url, "schema"):
            # A trial whose heartbeat stopped is failed by Optuna and, through this callback, run again.
            with heartbeat_apis():
                return PatientRDBStorage(
                    url,
                    outage_s,
                    heartbeat_stale_trial_callback=RetryAsNewAttempt(max_retry=None, inherit_intermediate_values=keep_levels),
                    **heartbeat,
                )
    except Exception as error:  # noqa: BLE001 - any driver or connection error becomes the one-line config error
        reason = first_line(error)
        raise ConfigError(
            "hydra.sweeper.storage",
            mask_secrets(url),
            f"an SQLAlchemy URL Optuna can open, e.g. sqlite:///mlruns/optuna.db or postgresql+psycopg://user@host/db ({mask_secrets(reason)})",
        ) from None


def counted_trials(study: optuna.Study, running: bool = False) -> int:
    """Trials that count toward n_trials: ended by themselves (COMPLETE, PRUNED, or FAIL of the
    trial's own making), plus the RUNNING ones when `running`. A FAIL that was an infrastructure
    failure, or that has been run again, is not counted: its rerun is."""
    trials = study.get_trials(deepcopy=False)
    retried = retried_trial_numbers(trials)
    count = 0
    for trial in trials:
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            count += 1
        elif trial.state == TrialState.FAIL:
            count += trial.number not in retried and trial.user_attrs.get("failure") != INFRASTRUCTURE
        elif trial.state == TrialState.RUNNING:
            count += running
    return count


@contextmanager
def budget_lock(storage: optuna.storages.BaseStorage) -> Iterator[None]:
    """Serialise "count, then ask" between sweeping processes sharing a study, so together they never pass n_trials.

    Taking the lock waits out a database that is briefly away, as the storage's own calls do.
    """
    url = str(storage.url) if isinstance(storage, RDBStorage) else ""
    engine = storage.engine if isinstance(storage, RDBStorage) else None

    def take() -> ExitStack:
        held = ExitStack()
        held.enter_context(database_lock(url, "budget", engine))
        return held

    with storage.patient(take, "lock the trial budget") if isinstance(storage, PatientRDBStorage) else take():
        yield


def default_study_name(
    experiment: str, search_space: Sequence[str], objectives: Sequence[str], directions: Sequence[str]
) -> str:
    """A name that is the same each time the same command runs, so re-running it resumes the study."""
    key = json.dumps([sorted(search_space), list(objectives), list(directions)])
    return f"{experiment}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def recover_abandoned_trials(
    study: optuna.Study, storage: optuna.storages.BaseStorage, keep_levels: bool = False
) -> list[str]:
    """Fail the RUNNING trials whose process is gone, as infrastructure failures that run again;
    returns one line per trial saying why."""
    if not isinstance(storage, RDBStorage):
        return []
    recovered = []
    # Under the budget lock: every live sweeping process asks a trial and names itself on it
    # (`worker`) under this lock, so a RUNNING trial without a name, seen here, was asked by a
    # process that stopped before naming it (its store went away in the middle of the ask).
    with budget_lock(storage):
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            worker = trial.user_attrs.get("worker")
            if worker is None:
                error, why = "its sweep process stopped while it asked the trial", "by a sweep that stopped while asking it"
            elif worker_is_dead(worker):
                error, why = f"its sweep process ({worker}) died", f"by a process that is gone ({worker})"
            else:
                continue
            key = trial_id(trial)
            storage.set_trial_user_attr(key, "error", error)
            storage.set_trial_user_attr(key, "failure", INFRASTRUCTURE)
            storage.set_trial_state_values(key, TrialState.FAIL)
            enqueue_rerun(study, storage.get_trial(key), keep_levels)
            recovered.append(f"trial #{trial.number} was left RUNNING {why}: marked FAIL, it runs again")
    if storage.get_heartbeat_interval():
        running = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        # Optuna fails them and runs the storage's RetryHeartbeatStaleTrialCallback; the line printed says why.
        with heartbeat_apis():
            optuna.storages.fail_stale_trials(study)
        recovered += [
            f"trial #{trial.number} sent no heartbeat for {2 * storage.get_heartbeat_interval()} s: marked FAIL, it runs again"
            for trial in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
            if trial.number in running
        ]
    return recovered


def worker_is_dead(worker: str) -> bool:
    """True when `host:pid` names a gone process of this machine, or this very process, which
    cannot have left a trial RUNNING before it asked one. Other machines: unknown, False."""
    return process_is_gone(worker, this_process_is_gone=True)


@contextmanager
def heartbeats(storage: optuna.storages.BaseStorage, trial_ids: set[int]) -> Iterator[None]:
    """Record a heartbeat for each trial in `trial_ids` (a set the caller keeps current) every
    `heartbeat_interval` seconds while the block runs."""
    interval = storage.get_heartbeat_interval() if isinstance(storage, RDBStorage) else None
    if not interval:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            for running in list(trial_ids):
                storage.record_heartbeat(running)

    thread = threading.Thread(target=beat, name="optuna-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
