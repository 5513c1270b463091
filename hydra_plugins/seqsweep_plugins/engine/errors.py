"""The one-line errors a user sees, shared by the sweepers, the launcher and the app.

A mistake in a setting is one line naming the key, the value and what is allowed, and exit
code 2, before any trial, study row or tracker record exists. The app (src/) imports these
helpers rather than writing its own; this module imports nothing of the app.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from hydra_plugins.seqsweep_plugins.engine.secrets import mask_secrets


def shown(value: Any) -> str:
    """A setting's value as the user would type it (`null` for None)."""
    return "null" if value is None else str(value)


class ConfigError(ValueError):
    """A setting that cannot work; its message is one line naming the key, the value and what is allowed."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}={shown(value)} is not allowed: {allowed}")


class SweepRefused(ValueError):
    """A tracker's reason not to start (e.g. an unfinished sweep of the same command exists); one line."""


class PointRefused(ValueError):
    """A sweep point Hydra cannot compose or the app's point check refused; the message says which."""


# How far interrupt_behind follows an error's causes and contexts.
MAX_CHAIN = 6


def interrupt_behind(error: BaseException) -> KeyboardInterrupt | None:
    """The interrupt `error` was raised while handling, if any: a library whose `finally` or
    `except` failed on what the interrupt left half-made (OmegaConf, composing a config) raises
    its own error in the interrupt's place, and the signal would pass for that error."""
    current: BaseException | None = error.__context__ or error.__cause__
    for _ in range(MAX_CHAIN):
        if current is None:
            return None
        if isinstance(current, KeyboardInterrupt):
            return current
        current = current.__context__ or current.__cause__
    return None


def first_line(error: BaseException | str) -> str:
    """The first non-empty line of an error (Hydra's and drivers' messages run to many lines);
    an exception without a message is named by its type."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if lines:
        return lines[0]
    return type(error).__name__ if isinstance(error, BaseException) else ""


def first_sentence(text: str | None, limit: int = 300) -> str:
    """A long error as its first sentence (Ray's node and worker errors run to several), at most `limit` characters."""
    text = (text or "").strip()
    head, dot, rest = text.partition(". ")
    short = head + "." if dot and rest else text
    return short if len(short) <= limit else short[: limit - 3] + "..."


def refuse(message: BaseException | str, code: int = 2) -> NoReturn:
    """Print `error: message` as one line on stderr (passwords masked, line breaks joined) and exit:
    2 for a setting, 1 for a store or other failure. The one way a command ends on a user's mistake."""
    print(f"error: {mask_secrets(' '.join(str(message).split()))}", file=sys.stderr, flush=True)
    sys.exit(code)
