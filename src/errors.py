"""The one error type for a config value that cannot work."""

from __future__ import annotations

from typing import Any


def show(value: Any) -> str:
    return "null" if value is None else str(value)


class ConfigError(ValueError):
    """A bad config value; its message is one line naming the key, the value and what is allowed."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}={show(value)} is not allowed: {allowed}")
