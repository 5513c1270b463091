"""Which trials a sweep may name a best among: those whose objective was measured on the same
examples, and on enough of them.

A best chosen on 2 validation examples, or between trials validated on different examples, is
noise presented as an answer. The app says what each trial was measured on by returning two
keys with its metrics (how many examples, and a fingerprint of which), and names them in the
sweeper's `best_among` setting; the plugin never knows what they mean. Every place that shows or
picks a best (progress line, the sweep's best, the Pareto front, refit) goes through `eligible`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError


@dataclass(frozen=True)
class BestRule:
    """`hydra.sweeper.best_among`: size_key and set_key name keys of a trial's returned dict; a
    null key is not checked (every trial counts, as without the setting)."""

    size_key: str | None = None
    set_key: str | None = None
    min_size: int = 0

    @classmethod
    def from_setting(cls, setting: Any) -> BestRule:
        if setting is None:
            return cls()
        known = {"size_key", "set_key", "min_size"}
        unknown = sorted(set(setting) - known)
        if unknown:
            raise ConfigError(
                f"hydra.sweeper.best_among.{unknown[0]}", setting[unknown[0]], "one of the keys " + ", ".join(sorted(known))
            )
        min_size = setting.get("min_size", 0) or 0
        if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 0:
            raise ConfigError("hydra.sweeper.best_among.min_size", min_size, "a whole number >= 0")
        return cls(setting.get("size_key"), setting.get("set_key"), min_size)

    def evidence(self, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """The size and set a trial returned, under their keys (absent keys left out)."""
        found = {}
        if self.size_key and isinstance(metrics.get(self.size_key), Real):
            found[self.size_key] = int(metrics[self.size_key])
        if self.set_key and metrics.get(self.set_key) is not None:
            found[self.set_key] = str(metrics[self.set_key])
        return found

    def size_label(self, evidence: Mapping[str, Any]) -> str:
        """`(n_val=2500)` beside a best value; empty when sizes are not checked."""
        if not self.size_key or self.size_key not in evidence:
            return ""
        return f" ({self.size_key}={evidence[self.size_key]})"


@dataclass(frozen=True)
class Candidate:
    """A completed trial with objective values, and what it was measured on (`BestRule.evidence`)."""

    number: int
    values: Sequence[float]
    evidence: Mapping[str, Any]


class BestSoFar:
    """The best of the trials added so far, among those measured on at least `min_size`
    examples of the set most of them share (the set that first reached the largest count).

    With several sets, a best is named only when two or more trials share the leading one:
    with one trial per set (each trial split its own validation data) nothing is comparable.
    Kept incrementally (a progress line per trial costs the same at trial 10,000 as at 10).
    """

    def __init__(self, rule: BestRule, direction: str) -> None:
        self.rule, self.direction = rule, direction
        self.groups: dict[Any, list[Candidate]] = {}
        self.group_best: dict[Any, Candidate] = {}
        self.leader: Any = _NO_GROUP
        self.too_small: set[Any] = set()
        self.added = 0

    def add(self, candidate: Candidate) -> None:
        self.added += 1
        if not self._large_enough(candidate):
            self.too_small.add(candidate.evidence.get(self.rule.size_key, "none"))
            return
        key = candidate.evidence.get(self.rule.set_key) if self.rule.set_key else None
        members = self.groups.setdefault(key, [])
        members.append(candidate)
        current = self.group_best.get(key)
        if current is None or self._better(candidate, current):
            self.group_best[key] = candidate
        if self.leader is _NO_GROUP or len(members) > len(self.groups[self.leader]):
            self.leader = key

    def eligible(self) -> list[Candidate]:
        """The candidates a best (or a Pareto front) may be chosen among, in the order added."""
        return list(self.groups[self.leader]) if self._has_eligible() else []

    def best(self) -> Candidate | None:
        return self.group_best[self.leader] if self._has_eligible() else None

    def _has_eligible(self) -> bool:
        return self.leader is not _NO_GROUP and (len(self.groups) == 1 or len(self.groups[self.leader]) >= 2)

    def reason(self) -> str | None:
        """Why no best is named (None when one is)."""
        if self.best() is not None:
            return None
        if not self.added:
            return "no trial completed"
        if not self.groups:
            sizes = ", ".join(
                str(size) for size in sorted(self.too_small, key=lambda size: (isinstance(size, str), str(size).zfill(20)))
            )
            return (
                f"no trial was measured on {self.rule.min_size} or more examples ({self.rule.size_key}: {sizes}; "
                "hydra.sweeper.best_among.min_size)"
            )
        return f"the trials were measured on different examples ({self.rule.set_key} differs between them)"

    def short_reason(self) -> str:
        """The reason in a few words, for a progress line: `n_val<100`, `validation_fingerprint differs`."""
        if not self.groups:
            return f"{self.rule.size_key}<{self.rule.min_size}" if self.added else "none completed"
        return f"{self.rule.set_key} differs"

    def _large_enough(self, candidate: Candidate) -> bool:
        if not self.rule.size_key or self.rule.min_size <= 0:
            return True
        size = candidate.evidence.get(self.rule.size_key)
        return size is not None and size >= self.rule.min_size

    def _better(self, candidate: Candidate, than: Candidate) -> bool:
        if self.direction == "maximize":
            return candidate.values[0] > than.values[0]
        return candidate.values[0] < than.values[0]


def best_so_far(rule: BestRule, direction: str, candidates: Sequence[Candidate]) -> BestSoFar:
    """A `BestSoFar` fed `candidates` in order."""
    tracker = BestSoFar(rule, direction)
    for candidate in candidates:
        tracker.add(candidate)
    return tracker


_NO_GROUP = object()
