"""Calls to the study's database wait out a moment when it cannot be reached, and no longer."""

from __future__ import annotations

import contextlib
import inspect
import re
import time

import pytest
from optuna.exceptions import StorageInternalError, UpdateFinishedTrialError
from optuna.storages import RDBStorage, _cached_storage
from sqlalchemy import exc as sqlalchemy_exc

from hydra_plugins.seqsweep_plugins.optuna_sweeper import patient_storage
from hydra_plugins.seqsweep_plugins.optuna_sweeper.patient_storage import (
    PatientRDBStorage,
    StoreUnavailable,
    patient_call,
)
from hydra_plugins.seqsweep_plugins.optuna_sweeper.study import budget_lock


@pytest.fixture(autouse=True)
def short_pauses(monkeypatch):
    monkeypatch.setattr(patient_storage, "FIRST_PAUSE_S", 0.01)
    monkeypatch.setattr(patient_storage, "LONGEST_PAUSE_S", 0.05)


def connection_lost() -> StorageInternalError:
    """What Optuna's RDBStorage raises when the server went away: its error, caused by SQLAlchemy's."""
    try:
        try:
            raise sqlalchemy_exc.OperationalError("SELECT 1", {}, Exception("connection refused"))
        except sqlalchemy_exc.OperationalError as cause:
            raise StorageInternalError("An exception is raised during the commit.") from cause
    except StorageInternalError as error:
        return error


class Flaky:
    """Fails with `error` the first `failures` calls, then returns 7."""

    def __init__(self, failures: int, error: BaseException | None = None) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error or connection_lost()
        return 7


def test_a_call_is_tried_again_until_the_database_answers():
    call = Flaky(failures=3)
    assert patient_call(call, outage_s=5, what="get_trial") == 7
    assert call.calls == 4


def test_a_database_away_longer_than_the_limit_stops_with_one_line_within_it():
    began = time.monotonic()
    with pytest.raises(StoreUnavailable) as stopped:
        patient_call(Flaky(failures=10**6), outage_s=0.3, what="get_trial")
    assert 0.3 <= time.monotonic() - began < 1.0
    message = str(stopped.value)
    assert "did not answer for 0.3 s (get_trial: connection refused)" in message and "\n" not in message
    assert StoreUnavailable.infrastructure  # the sweep stops instead of failing every later trial


def test_a_query_retried_on_the_lost_connection_is_waited_for_too():
    # Optuna's _get_trials retries a failed query in the same session; SQLAlchemy then refuses
    # with PendingRollbackError, raised while handling the lost connection, and Optuna wraps that.
    def lost_then_retried() -> None:
        try:
            raise sqlalchemy_exc.OperationalError("SELECT 1", {}, Exception("terminating connection"))
        except sqlalchemy_exc.OperationalError:
            try:
                raise sqlalchemy_exc.PendingRollbackError("Can't reconnect until invalid transaction is rolled back")
            except sqlalchemy_exc.PendingRollbackError as pending:
                raise StorageInternalError("An exception is raised during the commit.") from pending

    def error_of(call) -> BaseException:
        try:
            call()
        except BaseException as error:  # noqa: BLE001 - the error itself is what the test reads
            return error
        raise AssertionError("no error")

    call = Flaky(failures=2, error=error_of(lost_then_retried))
    assert patient_call(call, outage_s=5, what="_get_trials") == 7

    # A PendingRollbackError left by another kind of failure is not an outage.
    def refused_then_retried() -> None:
        try:
            raise sqlalchemy_exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
        except sqlalchemy_exc.IntegrityError:
            raise sqlalchemy_exc.PendingRollbackError("Can't reconnect until invalid transaction is rolled back")

    with pytest.raises(sqlalchemy_exc.PendingRollbackError):
        patient_call(Flaky(failures=1, error=error_of(refused_then_retried)), outage_s=5, what="_get_trials")


def test_other_errors_are_raised_at_once():
    refused = StorageInternalError("invalid data")
    refused.__cause__ = sqlalchemy_exc.DataError("INSERT", {}, Exception("value too long"))
    call = Flaky(failures=1, error=refused)
    with pytest.raises(StorageInternalError):
        patient_call(call, outage_s=5, what="set_trial_param")
    assert call.calls == 1


def test_a_tell_whose_answer_was_lost_is_not_told_twice():
    calls = []

    def tell():
        calls.append(1)
        if len(calls) == 1:
            raise connection_lost()  # the write reached the database; its answer did not
        raise UpdateFinishedTrialError("already finished")

    assert patient_call(tell, outage_s=5, what="set_trial_state_values", finished_means_done=True) is True
    # A trial finished before this call is still an error.
    with pytest.raises(UpdateFinishedTrialError):
        patient_call(_finished, outage_s=5, what="set_trial_state_values", finished_means_done=True)


def _finished():
    raise UpdateFinishedTrialError("already finished")


def test_an_sqlite_file_is_never_waited_for(tmp_path):
    storage = PatientRDBStorage(f"sqlite:///{tmp_path / 'study.db'}", outage_s=60)
    assert storage.outage_s == 0


class FakeEngine:
    """A PostgreSQL engine whose first `refusals` connects fail and whose unlock fails with `unlock_error`."""

    def __init__(self, refusals: int = 0, unlock_error: BaseException | None = None) -> None:
        self.refusals, self.unlock_error, self.statements = refusals, unlock_error, []

    @contextlib.contextmanager
    def connect(self):
        if self.refusals:
            self.refusals -= 1
            raise sqlalchemy_exc.OperationalError("connect", {}, Exception("connection refused"))
        yield self

    def execute(self, statement, parameters):
        self.statements.append(str(statement).split("(")[0])
        if "unlock" in str(statement) and self.unlock_error is not None:
            raise self.unlock_error


def study_storage(engine: FakeEngine) -> PatientRDBStorage:
    """A PostgreSQL study storage without a server: only what the budget lock reads of it."""
    storage = object.__new__(PatientRDBStorage)
    storage.url, storage.engine, storage.outage_s, storage.gone = "postgresql://sweeps@db/study", engine, 5.0, False
    return storage


def test_taking_the_budget_lock_waits_for_the_database():
    engine = FakeEngine(refusals=2)
    with budget_lock(study_storage(engine)):
        pass
    assert engine.refusals == 0 and engine.statements == ["SELECT pg_advisory_lock", "SELECT pg_advisory_unlock"]


def test_a_store_lost_while_the_budget_lock_is_held_is_the_error_raised_not_the_failed_unlock():
    lost = sqlalchemy_exc.OperationalError("SELECT pg_advisory_unlock", {}, Exception("terminating connection"))
    with pytest.raises(StoreUnavailable):
        with budget_lock(study_storage(FakeEngine(unlock_error=lost))):
            raise StoreUnavailable("the study's database did not answer for 10 s")


def test_an_unlock_refused_for_another_reason_is_raised():
    refused = sqlalchemy_exc.ProgrammingError("SELECT pg_advisory_unlock", {}, Exception("permission denied"))
    with pytest.raises(sqlalchemy_exc.ProgrammingError):
        with budget_lock(study_storage(FakeEngine(unlock_error=refused))):
            pass


def test_every_call_optunas_cache_makes_of_the_storage_waits():
    source = inspect.getsource(_cached_storage)
    made = set(re.findall(r"self\._backend\.(\w+)\(", source)) - {"get_heartbeat_stale_trial_callback"}
    assert made, "Optuna's cache no longer calls its backend as self._backend.NAME(...)"
    unwrapped = sorted(name for name in made if getattr(PatientRDBStorage, name) is getattr(RDBStorage, name))
    assert unwrapped == []


def test_once_a_call_waited_in_vain_the_closing_calls_fail_at_once_until_one_gets_through(tmp_path):
    storage = object.__new__(PatientRDBStorage)
    storage.outage_s, storage.gone = 0.3, False
    with pytest.raises(StoreUnavailable):
        storage.patient(Flaky(failures=10**6), "ask")
    began = time.monotonic()
    with pytest.raises(StoreUnavailable):
        storage.patient(Flaky(failures=10**6), "tell")  # the sweep's clean-up, stopping
    assert time.monotonic() - began < 0.1
    assert storage.patient(Flaky(failures=0), "get_trial") == 7  # the database is back
    assert storage.patient(Flaky(failures=2), "get_trial") == 7 and not storage.gone  # and is waited for again


def test_a_trial_opening_the_study_waits_for_the_database_and_a_sweep_starting_does_not(monkeypatch):
    # Opening runs Optuna's schema check, the first query a trial's process makes.
    attempts = Flaky(failures=2)
    monkeypatch.setattr(RDBStorage, "__init__", lambda self, url, **kwargs: attempts())
    url = "postgresql+psycopg://sweeps@db.example/optuna"

    PatientRDBStorage(url, outage_s=5, wait_to_open=True)
    assert attempts.calls == 3

    attempts.calls = 0
    with pytest.raises(StorageInternalError):
        PatientRDBStorage(url, outage_s=5)
    assert attempts.calls == 1
