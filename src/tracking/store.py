"""Where runs go: the tracking URI and the experiment, opened safely and proven writable.

`connect` is called by every process that logs runs, often several at once on a fresh store
(three sweeps started together, parallel trials). MLflow creates its schema on first use and
does not guard that against other processes: they race ("table ... already exists", leftover
`_alembic_tmp_*` tables). So the first MLflow call on a database store runs under a lock
shared by all processes (a file lock beside an SQLite file, an advisory lock in PostgreSQL),
and a fresh SQLite store is built in a temporary file that is renamed into place, so a crash
or a full disk mid-creation never leaves a half-made database behind.

Any failure to open or write the store becomes one `StoreError` naming the store and the
cause, before any training starts.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.seqsweep_plugins import first_line, mask_secrets, quiet_loggers
from hydra_plugins.seqsweep_plugins.engine.stores import LockTimeout, absolute_url, database_lock, sqlite_file
from src.errors import StoreError

TRACKING_CONFIG = Path(__file__).resolve().parents[2] / "conf" / "tracking" / "mlflow.yaml"

# MLflow's HTTP defaults (7 retries, exponential backoff, 120 s timeout) take minutes to give
# up on an unreachable server (252 s measured for one run). These give up in under 30 s even
# for a server that drops packets (3 attempts x 7 s + 2 s of backoff + jitter), and still
# ride out a server restart of a few seconds. Values already in the environment win.
MLFLOW_HTTP_SETTINGS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "7",
}
# Which of those the user set: theirs win over ours, also once the store has answered.
_SET_BY_USER = frozenset(name for name in MLFLOW_HTTP_SETTINGS if name in os.environ)
# Longest wait for another process to finish creating the schema (a few seconds usually).
SCHEMA_LOCK_TIMEOUT_S = 120
# MLflow 3's UI opens an experiment on its GenAI traces page unless it knows it is model training.
EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"


def default_tracking_uri() -> str:
    """The store a trial uses unless `tracking.tracking_uri` is overridden: `$MLFLOW_TRACKING_URI`
    or `sqlite:///mlruns/mlflow.db`, read from conf/tracking/mlflow.yaml so both stay one setting."""
    return str(OmegaConf.load(TRACKING_CONFIG).tracking_uri)


def absolute_uri(uri: str) -> str:
    """A relative SQLite URI made absolute against the working directory; other URIs unchanged."""
    return absolute_url(uri, create_folder=False)


def connect(tracking_cfg: DictConfig, proven: bool = False) -> str:
    """Point MLflow at the configured store, prove it can be written, and return the
    experiment id (created if missing).

    A tracking server that does not answer is given up on in seconds, unless `proven` (a trial
    of a sweep whose start already reached it): then, as after any first answer, requests wait
    up to `tracking.outage_s` for a server that is restarting.

    A relative SQLite path is taken from the working directory; its folder is created so a
    fresh checkout needs no set-up. Raises `StoreError` (one line: store and cause) when the
    store cannot be reached, created or written.
    """
    uri = absolute_uri(str(tracking_cfg.tracking_uri))
    name = str(tracking_cfg.experiment_name)
    quiet_loggers("mlflow", "alembic")
    # urllib3 warns at each retry of an unreachable tracking server; the StoreError line says it once.
    quiet_loggers("urllib3", level=logging.ERROR)
    start = time.monotonic()
    try:
        if uri.startswith(("http://", "https://")):
            outage_s = float(tracking_cfg.get("outage_s", 60))
            if proven:
                wait_out_outages(outage_s)
            else:
                _set_unless_set_by_user(MLFLOW_HTTP_SETTINGS)
            if mask_secrets(uri) != uri:
                # MLflow prints "View run ... at: <tracking URI>/#/..." as each run ends, password and all.
                os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
        with _schema_lock(uri):
            if uri.startswith("sqlite:///"):
                _create_sqlite_store_atomically(Path(uri.removeprefix("sqlite:///")))
            mlflow.set_tracking_uri(uri)
            experiment_id = _experiment_proven_writable(uri, name)
        if uri.startswith(("http://", "https://")):
            wait_out_outages(outage_s)
        return experiment_id
    except StoreError:
        raise
    except Exception as error:
        raise StoreError(uri, f"{describe_cause(error)} (after {time.monotonic() - start:.1f} s)") from error


def wait_out_outages(outage_s: float) -> None:
    """Once the server has answered, MLflow's requests wait up to `outage_s` seconds for it (or its
    database) to come back from a restart, instead of giving up in seconds."""
    retries, factor = retry_schedule(outage_s)
    _set_unless_set_by_user(
        {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(retries), "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": str(factor)}
    )


def retry_schedule(outage_s: float) -> tuple[int, int]:
    """MLflow's (retries, backoff factor) whose pauses add up to at most `outage_s`, as close as they
    get, with as many retries as that allows. urllib3 pauses 0, 2f, 4f, ... seconds between
    retries, f * (2**r - 2) in all for r retries; MLflow takes whole factors and at most 10 retries."""
    if outage_s <= 0:
        return 0, 0
    best = (0, 0, 0)  # (total pause, retries, factor)
    for retries in range(1, 11):
        for factor in range(1, 121):
            total = factor * (2**retries - 2)
            if total <= outage_s and (total, retries) > best[:2]:
                best = (total, retries, factor)
    return best[1], best[2]


def _set_unless_set_by_user(settings: dict[str, str]) -> None:
    for variable, value in settings.items():
        if variable not in _SET_BY_USER:
            os.environ[variable] = value


def _artifact_location(uri: str, experiment_name: str) -> str | None:
    if uri.startswith("sqlite:"):
        # Keep artifacts beside the database, not in ./mlartifacts of whatever folder runs first.
        return (Path(uri.removeprefix("sqlite:///")).parent / "artifacts" / experiment_name).as_uri()
    return None


def _experiment_proven_writable(uri: str, name: str) -> str:
    """The experiment's id, after a write to the store: creating the experiment, or tagging it."""
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        try:
            return mlflow.create_experiment(
                name, artifact_location=_artifact_location(uri, name), tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
            )
        except MlflowException as error:
            # A server store has no lock of ours: another process may have created it meanwhile.
            if error.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
                raise
            experiment = mlflow.get_experiment_by_name(name)
            if experiment is None:
                raise
    _tag_experiment(experiment.experiment_id)
    return experiment.experiment_id


def _tag_experiment(experiment_id: str) -> None:
    """The cheap write that proves an existing store writable: the experiment's kind, which also
    makes MLflow's UI open it on its runs table rather than on the GenAI traces page."""
    try:
        mlflow.MlflowClient().set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    except MlflowException:
        # MLflow's tag upsert is not atomic: processes starting together collide on the same
        # row (UNIQUE constraint failed), which only shows that another one just wrote. Once
        # more, now that its write is committed; a second failure is a real one.
        mlflow.MlflowClient().set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)


@contextlib.contextmanager
def _schema_lock(uri: str) -> Iterator[None]:
    """Held while MLflow may create its schema; other processes on the same store wait."""
    database = sqlite_file(uri)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    try:
        with database_lock(uri, "mlflow-schema", timeout=SCHEMA_LOCK_TIMEOUT_S):
            yield
    except LockTimeout as error:
        raise StoreError(uri, str(error)) from error


def _create_sqlite_store_atomically(database: Path) -> None:
    """A missing (or empty) SQLite store is created complete or not at all.

    MLflow builds its schema in some thirty migration steps; interrupted (full disk, killed
    process), it leaves a database every later run fails on. Building it in a temporary file
    and renaming that into place means the store either does not exist or is whole.
    """
    if database.exists() and database.stat().st_size > 0:
        return
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    temporary = database.with_name(f".{database.name}.{os.getpid()}.creating")
    try:
        store = SqlAlchemyStore(f"sqlite:///{temporary}", (database.parent / "artifacts").as_uri())
        store.engine.dispose()
        os.replace(temporary, database)
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + "-journal")):
            leftover.unlink(missing_ok=True)


# What a failed store call means, in the words a user acts on: the first row whose errno
# (OSError), SQLite error code or message text matches wins. SQLite's own messages are
# reliable; MLflow, SQLAlchemy, psycopg and requests wrap them, so the whole chain is searched.
_CAUSES: list[tuple[str, set[int], set[int], tuple[str, ...]]] = [
    ("the disk is full", {errno.ENOSPC, errno.EFBIG}, {sqlite3.SQLITE_FULL}, ("disk is full", "no space left")),
    # SQLite's word for a write the OS refused (EFBIG past a file-size limit, EIO).
    ("the disk refused a write (full or failing)", set(), set(), ("disk i/o error",)),
    (
        "the folder or database is not writable",
        {errno.EROFS, errno.EACCES, errno.EPERM},
        set(),
        ("readonly database", "read-only", "permission denied"),
    ),
    (
        "the database file is corrupt",
        set(),
        {sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT},
        ("file is not a database", "malformed"),
    ),
    (
        "the server refused the credentials",
        set(),
        set(),
        ("authentication failed", "error code 401", "error code 403", "unauthenticated", "unauthorized"),
    ),
    (
        "the server is unreachable",
        set(),
        set(),
        (
            "connection refused",
            "max retries exceeded",
            "failed to resolve",
            "timed out",
            "timeout expired",
            "could not connect",
            "name or service not known",
            "connection to server",
        ),
    ),
]


def describe_cause(error: BaseException) -> str:
    """What went wrong, in words a user can act on, followed by the underlying error's first line."""
    chain = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    text = " ".join(str(e) for e in chain).lower()
    errnos = {getattr(e, "errno", None) for e in chain}
    # Kept apart from errnos: SQLITE_FULL and EACCES are both 13.
    sqlite_codes = {getattr(e, "sqlite_errorcode", None) for e in chain}
    label = next(
        (
            label
            for label, os_errors, sqlite_errors, words in _CAUSES
            if os_errors & errnos or sqlite_errors & sqlite_codes or any(word in text for word in words)
        ),
        "it cannot be opened or written",
    )
    # The deepest error that says something is the most specific one.
    root = next((e for e in reversed(chain) if str(e).strip()), chain[-1])
    line = first_line(root) if str(root).strip() else ""
    return f"{label} ({type(root).__name__}: {line})" if line else f"{label} ({type(root).__name__})"
