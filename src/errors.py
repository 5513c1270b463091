"""The error types a user sees as one line: a bad config value, a store that cannot be used."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from hydra_plugins.seqsweep_plugins.secrets import mask_secrets


def show(value: Any) -> str:
    return "null" if value is None else str(value)


class ConfigError(ValueError):
    """A bad config value; its message is one line naming the key, the value and what is allowed."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}={show(value)} is not allowed: {allowed}")


class StoreError(RuntimeError):
    """A tracking or study store that cannot be used (full disk, read-only folder, corrupt
    database, unreachable server); one line naming the store, its password masked, and the cause.

    Inside a sweep it is a failure outside the trial itself: the sweepers read `infrastructure`,
    stop starting trials and exit non-zero instead of failing every later trial the same way."""

    infrastructure = True

    def __init__(self, store: str, cause: str) -> None:
        self.store, self.cause = mask_secrets(store), " ".join(mask_secrets(cause).split())
        super().__init__(f"cannot use the store {self.store}: {self.cause}")


def exit_with_error(error: BaseException | str, code: int = 2) -> NoReturn:
    """Print `error: ...` as one line on stderr (passwords masked) and exit: 2 for a bad setting,
    1 for a store or other failure. The one place the app's commands end on a user error."""
    print(f"error: {mask_secrets(' '.join(str(error).split()))}", file=sys.stderr, flush=True)
    sys.exit(code)
