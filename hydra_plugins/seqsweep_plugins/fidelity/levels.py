"""A sweep's fidelity: one integer setting (the training-set size, the epochs) that each trial
climbs in levels, min, min x factor, min x factor^2, ..., max, so a poor configuration is stopped
after a cheap level instead of paying for the top one.

    hydra:
      sweeper:
        fidelity:
          key: data.n_train       # null: off (the default)
          min: 1000
          max: 20000
          reduction_factor: 3     # levels 1000, 3000, 9000, 20000
          curve_stop: false       # the learning-curve rule (curve_stop.py)

Every level of a trial is its own job with `key=level` added to its overrides, so the mechanism
knows nothing of what the key means: the app decides (the seqsweep app draws nested training
subsets for `data.n_train`). A mistake is one line naming the key, exit code 2, before any trial.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError

SETTING = "hydra.sweeper.fidelity"


@dataclass(frozen=True)
class Fidelity:
    """The checked fidelity setting; `levels` are what each trial climbs."""

    key: str
    min: int
    max: int
    reduction_factor: int
    curve_stop: bool = False

    @classmethod
    def from_setting(cls, setting: Mapping[str, Any] | None) -> Fidelity | None:
        """None while `key` is null (fidelity off); raises ConfigError naming the bad key."""
        setting = dict(setting or {})
        unknown = sorted(set(setting) - {"key", "min", "max", "reduction_factor", "curve_stop"})
        if unknown:
            raise ConfigError(
                f"{SETTING}.{unknown[0]}", setting[unknown[0]], "one of key, min, max, reduction_factor, curve_stop"
            )
        key = setting.get("key")
        if key is None:
            return None
        if not isinstance(key, str) or not key.strip() or "=" in key:
            raise ConfigError(f"{SETTING}.key", key, "null (off) or a config key, e.g. data.n_train or trainer.epochs")
        low, high = _whole(f"{SETTING}.min", setting.get("min"), 1), _whole(f"{SETTING}.max", setting.get("max"), 1)
        if low >= high:
            raise ConfigError(f"{SETTING}.min", low, f"a whole number below {SETTING}.max={high}")
        factor = _whole(f"{SETTING}.reduction_factor", setting.get("reduction_factor"), 2)
        curve_stop = setting.get("curve_stop", False)
        if not isinstance(curve_stop, bool):
            raise ConfigError(f"{SETTING}.curve_stop", curve_stop, "true or false")
        return cls(key.strip().lstrip("+"), low, high, factor, curve_stop)

    @property
    def levels(self) -> list[int]:
        """min, min x factor, ... while below max, then max."""
        levels, level = [], self.min
        while level < self.max:
            levels.append(level)
            level *= self.reduction_factor
        return [*levels, self.max]

    def next_level(self, level: int) -> int | None:
        """The level after `level`, or None at the top."""
        later = [other for other in self.levels if other > level]
        return later[0] if later else None

    def first_level_after(self, done: list[int]) -> int:
        """Where a trial continues when the levels in `done` were already measured (a rerun)."""
        remaining = [level for level in self.levels if level not in done]
        return remaining[0] if remaining else self.max

    def override(self, level: int) -> str:
        return f"{self.key}={level}"

    @property
    def top_override(self) -> str:
        """The top level's override: where points are checked, the best is chosen and refit."""
        return self.override(self.max)


def _whole(key: str, value: Any, smallest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
        raise ConfigError(key, value, f"a whole number >= {smallest}")
    return value
