"""Data loaders: each returns a `TaskData` ready for `model.fit`."""

from src.data.task import InputSpec, TaskData

__all__ = ["InputSpec", "TaskData"]
