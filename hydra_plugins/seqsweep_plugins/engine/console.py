"""What a sweep prints: `[sweep]` lines, one line per finished trial, and the closing summary."""

from __future__ import annotations

import logging
import time

from hydra_plugins.seqsweep_plugins.engine.best_rule import BestRule, BestSoFar, Candidate
from hydra_plugins.seqsweep_plugins.engine.outcome import TrialState
from hydra_plugins.seqsweep_plugins.engine.secrets import mask_secrets


def say(message: str) -> None:
    print(f"[sweep] {mask_secrets(message)}", flush=True)


def quiet_loggers(*names: str, level: int = logging.WARNING) -> None:
    """Keep the named libraries' INFO lines (Optuna's "A new study created", MLflow's "Creating
    initial database tables") off the console: their loggers go to `level` unless Hydra's
    `hydra.verbose` names them or is true. Call it once the library is imported: MLflow sets its
    logger's level when imported, after Hydra applied `hydra.verbose`."""
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose_about(name) else level)


def verbose_about(logger: str) -> bool:
    """Whether Hydra's `hydra.verbose` asks for `logger`'s lines (true, the name, or a list naming it)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return False
    verbose = HydraConfig.get().verbose
    if verbose is True or verbose in ("true", "True"):
        return True
    names = [verbose] if isinstance(verbose, str) else list(verbose or [])
    return logger in names


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def readable_number(text: str) -> str:
    """`0.0008179499475211679` -> `0.0008179`: a float setting to 4 significant digits; whole numbers and words unchanged."""
    try:
        number = float(text)
    except ValueError:
        return text
    return text if number.is_integer() or "." not in text else f"{number:.4g}"


def significant(value: float, digits: int = 4) -> str:
    """A result to `digits` significant digits, trailing zeros kept so a column lines up: 0.4 -> `0.4000`."""
    text = f"{value:#.{digits}g}"
    return text[:-1] if text.endswith(".") else text


def bare_key(key: str) -> str:
    """`+model.units` -> `model.units`: the key without Hydra's add/force-add/delete prefix."""
    return key.lstrip("+~")


def short_settings(overrides: list[str]) -> str:
    """`model=lstm optimizer.learning_rate=0.0008179`, for reading."""
    shown = []
    for text in overrides:
        key, _, value = text.partition("=")
        shown.append(f"{key}={readable_number(value)}")
    return " ".join(shown) or "(no varying settings)"


class Progress:
    """One line per finished trial: `[k/N] settings  objective  took  elapsed  ETA  best so far`.

    Written by hand rather than with a tqdm bar: trials end out of order and each line must stay
    in the log (a bar redrawn in place is lost in files, CI logs and `tee`).
    """

    def __init__(self, total: int | None, objective: str, direction: str, rule: BestRule | None = None) -> None:
        self.total, self.objective, self.direction = total, objective, direction
        self.rule = rule or BestRule()
        self.started = time.monotonic()
        self.ended = 0
        self.best = BestSoFar(self.rule, direction)

    def line(
        self,
        varying: list[str],
        state: TrialState,
        value: float | None,
        seconds: float,
        note: str = "",
        counted: bool = True,
        evidence: dict | None = None,
        level: int | None = None,
        next_level: int | None = None,
    ) -> str:
        """The trial's line; a trial that does not count toward N shows `[lost]` (it runs again)
        or, for a level of a fidelity ladder that it climbs on from, `[>>]`.
        `evidence`: what the value was measured on (`BestRule.evidence`), for the best so far;
        only a trial that completed (at its top level) is a candidate."""
        self.ended += counted
        if value is not None and counted and state is TrialState.COMPLETE:
            self.best.add(Candidate(self.ended, [value], evidence or {}))
        elapsed = time.monotonic() - self.started
        counter = (
            ("[>>]" if next_level is not None else "[lost]")
            if not counted
            else f"[{self.ended}/{self.total}]"
            if self.total
            else f"[{self.ended}]"
        )
        result = f"{self.objective}={significant(value)}" if value is not None else state.value
        if level is not None:
            result = f"level {level} {result}"
        parts = [counter, short_settings(varying), result, f"took {seconds:.1f}s", f"elapsed {clock(elapsed)}"]
        if self.total and 0 < self.ended < self.total:
            # Trials run several at a time, so the rest take about (elapsed / ended) each.
            parts.append(f"ETA {clock(elapsed / self.ended * (self.total - self.ended))}")
        best = self.best.best()
        if best is not None:
            parts.append(f"best {self.objective}={significant(best.values[0])}{self.rule.size_label(best.evidence)}")
        elif self.best.added:
            parts.append(f"no best ({self.best.short_reason()})")
        if note:
            parts.append(note)
        if next_level is not None:
            parts.append(f"goes on to level {next_level}")
        return mask_secrets("  ".join(parts))


STATE_WORDS = {
    TrialState.COMPLETE: "complete",
    TrialState.PRUNED: "pruned",
    TrialState.FAIL: "failed",
    TrialState.LOST: "lost",
}


def closing_summary(status: str, seconds: float, counts: dict[TrialState, int]) -> str:
    """`sweep FINISHED in 0:04: 2 trial(s): 1 complete, 1 failed` (failed: by themselves or not;
    lost: their worker died), so a sweep that exits 0 still says how many trials failed."""
    ended = ", ".join(f"{n} {STATE_WORDS[state]}" for state, n in counts.items() if n) or "none ended"
    return f"sweep {status} in {clock(seconds)}: {sum(counts.values())} trial(s): {ended}"
