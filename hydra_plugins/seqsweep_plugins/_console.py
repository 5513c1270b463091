"""What the sweepers print: the one-line refusal (exit code 2) and one line per finished trial."""

from __future__ import annotations

import sys
import time
from typing import Any, NoReturn

from hydra_plugins.seqsweep_plugins.secrets import mask_secrets


class SweepConfigError(ValueError):
    """A sweeper setting that cannot work; one line naming the key, the value and what is allowed."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        shown = "null" if value is None else str(value)
        super().__init__(f"{key}={shown} is not allowed: {allowed}")


class SweepRefused(ValueError):
    """A tracker's reason not to start (e.g. an unfinished sweep of the same command exists); one line."""


class PointRefused(ValueError):
    """A sweep point Hydra cannot compose or the app's point check refused; the message says which."""


def refuse(message: str, code: int = 2) -> NoReturn:
    """Print `error: message` as one line on stderr and exit (2: a setting; 1: a store), before any trial runs."""
    print(f"error: {mask_secrets(first_line(message))}", file=sys.stderr, flush=True)
    sys.exit(code)


def say(message: str) -> None:
    print(f"[sweep] {mask_secrets(message)}", flush=True)


def first_line(error: BaseException | str) -> str:
    """The first non-empty line of an error (Hydra's messages run to many lines)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if isinstance(error, BaseException):
        return lines[0] if lines else type(error).__name__
    return lines[0] if lines else ""


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """One line per finished trial: `[k/N] settings  objective  took  elapsed  ETA  best so far`.

    Written by hand rather than with a tqdm bar: trials end out of order and each line must stay
    in the log (a bar redrawn in place is lost in files, CI logs and `tee`).
    """

    def __init__(self, total: int | None, objective: str, direction: str, slots: int) -> None:
        self.total, self.objective, self.direction, self.slots = total, objective, direction, max(slots, 1)
        self.started = time.monotonic()
        self.ended = 0
        self.best: float | None = None

    def line(
        self, varying: list[str], state: str, value: float | None, seconds: float, note: str = "", counted: bool = True
    ) -> str:
        """The trial's line; a trial that does not count toward N (lost: it runs again) shows `[lost]`."""
        self.ended += counted
        if value is not None and (
            self.best is None or (value > self.best if self.direction == "maximize" else value < self.best)
        ):
            self.best = value
        elapsed = time.monotonic() - self.started
        counter = "[lost]" if not counted else f"[{self.ended}/{self.total}]" if self.total else f"[{self.ended}]"
        result = f"{self.objective}={value:.4f}" if value is not None else state
        parts = [counter, short_settings(varying), result, f"took {seconds:.1f}s", f"elapsed {clock(elapsed)}"]
        if self.total and 0 < self.ended < self.total:
            # Trials run `slots` at a time, so the rest take about (mean trial time / slots) each.
            eta = elapsed / self.ended * (self.total - self.ended)
            parts.append(f"ETA {clock(eta)}")
        if self.best is not None:
            parts.append(f"best {self.objective}={self.best:.4f}")
        if note:
            parts.append(note)
        return mask_secrets("  ".join(parts))


def first_sentence(text: str | None, limit: int = 300) -> str:
    """A long error as its first sentence (Ray's node and worker errors run to several), at most `limit` characters."""
    text = (text or "").strip()
    head, dot, rest = text.partition(". ")
    shown = head + "." if dot and rest else text
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def short_settings(overrides: list[str]) -> str:
    """`model=lstm optimizer.learning_rate=0.000818`: floats to 3 significant digits, for reading."""
    shown = []
    for text in overrides:
        key, _, value = text.partition("=")
        try:
            number = float(value)
            value = value if number.is_integer() or "." not in value else f"{number:.3g}"
        except ValueError:
            pass
        shown.append(f"{key}={value}")
    return " ".join(shown) or "(no varying settings)"
