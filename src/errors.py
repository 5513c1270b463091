"""The error types a user sees as one line: a bad config value (the plugin's ConfigError, shared
so the sweepers and the app refuse alike), a store that cannot be used."""

from __future__ import annotations

from hydra_plugins.seqsweep_plugins import ConfigError, mask_secrets

__all__ = ["ConfigError", "StoreError"]


class StoreError(RuntimeError):
    """A tracking or study store that cannot be used (full disk, read-only folder, corrupt
    database, unreachable server); one line naming the store, its password masked, and the cause.

    Inside a sweep it is a failure outside the trial itself: the sweepers read `infrastructure`,
    stop starting trials and exit non-zero instead of failing every later trial the same way."""

    infrastructure = True

    def __init__(self, store: str, cause: str) -> None:
        self.store, self.cause = mask_secrets(store), " ".join(mask_secrets(cause).split())
        super().__init__(f"cannot use the store {self.store}: {self.cause}")
