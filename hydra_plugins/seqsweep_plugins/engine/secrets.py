"""The one place that hides credentials before anything is printed or stored.

Storage and tracking URLs may carry a password (`postgresql+psycopg://user:secret@host/db`,
`http://user:secret@host:5000`); every URL or text that is printed, written to a sweep folder,
logged to MLflow or exported passes through `mask_secrets` first.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
# user:password@ in any scheme://...; the user name stays, it helps to tell stores apart. Also as
# Hydra writes an override back (overrides.yaml, hydra.yaml, `overrides.task`): with its colons
# escaped, `http\://user\:secret@host`.
_URL_PASSWORD = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*\\?://)(?P<user>[^:/@\s'\"\\]*)(?P<colon>\\?:)(?P<password>[^@\s'\"]*)@"
)
# password=... in libpq keyword strings and query parameters (?password=..., &sslpassword=...).
_KEY_PASSWORD = re.compile(r"(?P<key>\b(?:ssl)?password=)(?P<password>[^&\s'\"]+)", re.IGNORECASE)


def mask_secrets(text: str) -> str:
    """`text` with every password of a URL or a `password=` parameter replaced by ***."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}{m['colon']}{MASK}@", text)
    return _KEY_PASSWORD.sub(lambda m: f"{m['key']}{MASK}", text)


def mask_values(value: Any) -> Any:
    """`mask_secrets` applied to every string inside nested dicts, lists and tuples."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {key: mask_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_values(item) for item in value)
    return value
