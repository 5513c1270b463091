"""Rules for the database stores both the sweepers and the app open (Optuna's study, MLflow's runs).

- A relative SQLite URL is taken from the working directory, and its folder is created, so a
  fresh checkout needs no set-up and every process of a sweep means the same file.
- `database_lock`: one lock every process using the same database shares, for steps no library
  guards against other processes (creating a schema, Optuna's "count, then ask" budget): a file
  lock beside an SQLite file, a PostgreSQL advisory lock, nothing for other stores.
- `connection_lost`: whether an error says the database could not be reached (rather than
  refused the call); what callers that wait out a restarting database wait for.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SQLITE = "sqlite:///"


class LockTimeout(TimeoutError):
    """Another process held the lock longer than the caller would wait."""


# How far connection_lost follows an error's causes (Optuna, SQLAlchemy and the driver: three).
MAX_CHAIN = 6


def connection_lost(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from, says the database could not be reached.

    Followed through the errors each was raised from (Optuna's StorageInternalError from
    SQLAlchemy's), and from a PendingRollbackError to the error it was raised while handling:
    SQLAlchemy raises it when a query retried in the same session (Optuna's fallback in
    `_get_trials`) finds the transaction the lost connection left behind.
    """
    from sqlalchemy import exc

    current: BaseException | None = error
    for _ in range(MAX_CHAIN):
        if current is None:
            return False
        if isinstance(current, (exc.OperationalError, exc.InterfaceError)):
            return True
        if isinstance(current, exc.DBAPIError) and current.connection_invalidated:
            return True
        pending = isinstance(current, exc.PendingRollbackError)
        current = current.__cause__ or (current.__context__ if pending else None)
    return False


def sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL (None for other stores)."""
    return Path(url.removeprefix(SQLITE)) if url.startswith(SQLITE) else None


def absolute_url(url: str, create_folder: bool = True) -> str:
    """A relative SQLite URL made absolute against the working directory (its folder created); others unchanged."""
    database = sqlite_file(url)
    if database is None:
        return url
    database = database.resolve()
    if create_folder:
        database.parent.mkdir(parents=True, exist_ok=True)
    return f"{SQLITE}{database}"


@contextmanager
def database_lock(url: str, purpose: str, engine: Any = None, timeout: float | None = None) -> Iterator[None]:
    """Held by one process at a time among all that use the database `url` for `purpose`.

    `engine`: an SQLAlchemy engine of `url` to take the PostgreSQL lock on (else a short-lived
    one of its own); `timeout`: seconds to wait for an SQLite file lock (None: as long as it takes).
    """
    database = sqlite_file(url)
    if database is not None:
        with _file_lock(database.with_name(f"{database.name}.{purpose}.lock"), timeout):
            yield
    elif url.startswith("postgresql"):
        with _advisory_lock(url, purpose, engine):
            yield
    else:
        yield


@contextmanager
def _file_lock(path: Path, timeout: float | None) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock = FileLock(path, timeout=-1 if timeout is None else timeout)
    try:
        lock.acquire()
    except Timeout:
        raise LockTimeout(f"another process held {path} for {timeout:g} s") from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _advisory_lock(url: str, purpose: str, engine: Any) -> Iterator[None]:
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    # NullPool: the lock's own connection is closed (and the lock released) at the end, whatever happens.
    own = engine is None
    engine = engine or sqlalchemy.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10})
    key = {"id": zlib.crc32(f"seqsweep: {purpose}".encode())}
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:id)"), key)
            try:
                yield
            finally:
                try:
                    connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:id)"), key)
                except sqlalchemy.exc.DBAPIError as error:
                    # PostgreSQL ends a session's advisory locks with the session: on a lost
                    # connection there is nothing left to unlock, and the body's own error (the
                    # store that went away) is the one worth raising.
                    if not connection_lost(error):
                        raise
    finally:
        if own:
            engine.dispose()
