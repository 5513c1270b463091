"""Fixtures of the fault tests: real PostgreSQL and MLflow servers (tests/fixtures/)."""

from tests.fixtures.mlflow_server import mlflow_server  # noqa: F401
from tests.fixtures.postgres import postgres_server, postgres_url  # noqa: F401
