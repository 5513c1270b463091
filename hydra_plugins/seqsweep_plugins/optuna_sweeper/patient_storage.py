"""The study's database may go away for a moment (a PostgreSQL restart, a failover): calls wait for it.

Optuna's RDBStorage turns a lost connection into `StorageInternalError` at once, and nothing in
Optuna or SQLAlchemy retries a call (SQLAlchemy's `pool_pre_ping` only replaces connections
that died while idle, which we turn on too). So every storage call of the sweeper and of the
trials' pruning reports goes through `PatientRDBStorage`: a call that fails because the database
cannot be reached is tried again, with growing pauses, until it works or `outage_s` seconds have
passed since its first failure; then it raises `StoreUnavailable` (one line, an infrastructure
failure: the sweep stops, and the same command resumes it). Errors of any other kind are raised
at once. A write that reached the database although its answer was lost is not repeated twice
in effect: telling a trial that the first attempt already finished counts as done.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage

from hydra_plugins.seqsweep_plugins.engine.errors import first_line
from hydra_plugins.seqsweep_plugins.engine.secrets import mask_secrets
from hydra_plugins.seqsweep_plugins.engine.stores import connection_lost
from hydra_plugins.seqsweep_plugins.optuna_sweeper.optuna_private import CACHE_CALLS

FIRST_PAUSE_S = 0.5
LONGEST_PAUSE_S = 5.0


class StoreUnavailable(RuntimeError):
    """The study's database did not answer for longer than the sweep waits; one line."""

    # A failure outside the trial: the sweep stops rather than failing every later trial alike.
    infrastructure = True


def patient_call(
    call: Callable[[], Any], outage_s: float, what: str, finished_means_done: bool = False, gone: bool = False
) -> Any:
    """`call()`, tried again while the database is unreachable, for at most `outage_s` seconds
    (`gone`: it was already waited for in vain, so a call that cannot reach it fails at once)."""
    deadline = time.monotonic() if gone else None
    pause = FIRST_PAUSE_S
    while True:
        try:
            return call()
        except UpdateFinishedTrialError:
            if finished_means_done and deadline is not None:
                return True  # an earlier attempt was written, only its answer was lost
            raise
        except Exception as error:
            if not connection_lost(error) or outage_s <= 0:
                raise
            now = time.monotonic()
            deadline = deadline or now + outage_s
            if now >= deadline:
                database_error = error.__cause__ or error
                cause = first_line(getattr(database_error, "orig", None) or database_error)
                raise StoreUnavailable(
                    f"the study's database did not answer for {outage_s:g} s ({what}: {mask_secrets(cause)}); "
                    "run the same command to resume once it is back"
                ) from error
            time.sleep(min(pause, deadline - now))
            pause = min(2 * pause, LONGEST_PAUSE_S)


class PatientRDBStorage(RDBStorage):
    """Optuna's RDBStorage whose calls wait out a database that is briefly unreachable."""

    def __init__(self, url: str, outage_s: float, wait_to_open: bool = False, **kwargs: Any) -> None:
        """`wait_to_open`: opening (Optuna checks the schema there) waits out an outage too, for a
        trial of a running sweep, whose start already reached the database; a sweep's own start
        does not wait, so a wrong URL is one line at once."""
        # An SQLite file does not restart: its OperationalErrors (read-only, disk full) are final.
        self.outage_s = 0.0 if url.startswith("sqlite") else outage_s
        if not url.startswith("sqlite"):
            kwargs.setdefault("engine_kwargs", {}).setdefault("pool_pre_ping", True)
        # Set once a call waited outage_s in vain: the sweep is stopping, and its closing calls
        # should not each wait as long again; cleared by the next call that gets through.
        self.gone = False
        open_database = functools.partial(super().__init__, url, **kwargs)
        if wait_to_open:
            self.patient(open_database, "open the study")
        else:
            open_database()

    def patient(self, call: Callable[[], Any], what: str, finished_means_done: bool = False) -> Any:
        """`call()` (one that uses this storage's database), waiting out a short outage."""
        try:
            result = patient_call(call, self.outage_s, what, finished_means_done, gone=self.gone)
        except StoreUnavailable:
            self.gone = True
            raise
        self.gone = False
        return result


def _patient(name: str) -> Callable[..., Any]:
    method = getattr(RDBStorage, name)

    @functools.wraps(method)
    def call(self: PatientRDBStorage, *args: Any, **kwargs: Any) -> Any:
        return self.patient(lambda: method(self, *args, **kwargs), name, finished_means_done=name == "set_trial_state_values")

    return call


# Every call of Optuna's storage interface (BaseStorage and its heartbeat), and the private
# RDBStorage calls Optuna's own cache in front of it (`_CachedStorage`) makes. Wrapped here rather
# than one by one: there are some thirty and each needs the same treatment.
_CALLS = [
    name
    for name in dir(optuna.storages.BaseStorage) + ["record_heartbeat", "get_heartbeat_interval"]
    if not name.startswith("_") and callable(getattr(RDBStorage, name, None)) and name not in ("remove_session",)
] + CACHE_CALLS
for _name in _CALLS:
    setattr(PatientRDBStorage, _name, _patient(_name))
