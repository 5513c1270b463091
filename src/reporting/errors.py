"""The one error type of a report that cannot be made (unknown experiment, empty sweep, bad column)."""

from __future__ import annotations


class ReportError(ValueError):
    """Its message is one line saying what was asked for and what exists."""
