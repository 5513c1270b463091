"""Hydra's sweep syntax to Optuna distributions, one to one, parsed by Hydra's own OverridesParser.

| Hydra                                  | Optuna                                           |
| -------------------------------------- | ------------------------------------------------ |
| `a,b,c`, `choice(a, b, c)`             | CategoricalDistribution([a, b, c])               |
| `range(16, 129, 16)`                   | IntDistribution(16, 128, step=16) (stop excluded, as in Hydra) |
| `range(0.1, 0.5, 0.1)`                 | FloatDistribution(0.1, 0.4, step=0.1)            |
| `shuffle(range(...))`                  | CategoricalDistribution of the range's values    |
| `interval(0.0, 0.5)`                   | FloatDistribution(0.0, 0.5)                      |
| `tag(log, interval(1e-4, 1e-2))`       | FloatDistribution(1e-4, 1e-2, log=True)          |
| `int(interval(8, 128))`                | IntDistribution(8, 128) (`tag(log, ...)` may wrap it) |
| `tag(int, interval(8, 128))`           | IntDistribution(8, 128) (`log` may be added)     |
| a single value                         | not searched: passed to every trial as it is     |
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from hydra.errors import HydraException
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError, first_line
from hydra_plugins.seqsweep_plugins.engine.hydra_private import override_value_text

SYNTAX = "choice(...), a,b,c, range(start, stop[, step]), interval(low, high), int(interval(...)), tag(log, interval(...)) or one value"


def parse_search_space(overrides: Iterable[str]) -> tuple[dict[str, BaseDistribution], dict[str, str]]:
    """Split `key=value` overrides into searched distributions and fixed values (as override text)."""
    parser = OverridesParser.create()
    distributions: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for text in overrides:
        try:
            override = parser.parse_override(text)
        except HydraException as error:
            key = text.split("=", 1)[0]
            raise ConfigError(
                f"hydra.sweeper.params.{key}", text.split("=", 1)[-1], f"Hydra sweep syntax: {SYNTAX} ({first_line(error)})"
            ) from None
        key = override.get_key_element()
        if override.is_sweep_override():
            distributions[key] = _distribution(key, override, text.split("=", 1)[-1])
        else:
            fixed[key] = override.get_value_element_as_str()
    for key in fixed:
        distributions.pop(key, None)  # a later plain value (e.g. on the command line) fixes a swept key
    return distributions, fixed


def override_text(key: str, value: Any) -> str:
    """One sampled value as a Hydra override: `model=gru`, `model.unroll=true`, `model.activation=null`."""
    if isinstance(value, bool):
        return f"{key}={str(value).lower()}"
    if isinstance(value, float):
        return f"{key}={value!r}"
    return f"{key}={override_value_text(value)}"


def edge_values(distribution: BaseDistribution) -> list[Any]:
    """The values checked before the study starts: every choice, both ends of a range or interval."""
    if isinstance(distribution, CategoricalDistribution):
        return list(distribution.choices)
    return [distribution.low, distribution.high]


def grid_values(key: str, distribution: BaseDistribution) -> list[Any]:
    """Every value of a discrete distribution, for GridSampler."""
    if isinstance(distribution, CategoricalDistribution):
        return list(distribution.choices)
    if isinstance(distribution, IntDistribution) and not distribution.log:
        return list(range(distribution.low, distribution.high + 1, distribution.step))
    if isinstance(distribution, FloatDistribution) and distribution.step is not None:
        count = round((distribution.high - distribution.low) / distribution.step) + 1
        return [distribution.low + i * distribution.step for i in range(count)]
    raise ConfigError(
        f"hydra.sweeper.params.{key}",
        describe_distribution(distribution),
        "choice(...) or range(...) with GridSampler (it needs a finite list of values)",
    )


def _distribution(key: str, override: Override, shown: str) -> BaseDistribution:
    value = override.value()
    name = f"hydra.sweeper.params.{key}"
    if isinstance(value, ChoiceSweep) or (isinstance(value, RangeSweep) and value.shuffle):
        return _categorical(name, list(override.sweep_iterator()), shown)
    if isinstance(value, RangeSweep):
        return _range(name, value, list(override.sweep_iterator()), shown)
    if isinstance(value, IntervalSweep):
        return _interval(name, value, shown)
    raise ConfigError(name, shown, SYNTAX)


def _categorical(name: str, choices: list[Any], shown: str) -> CategoricalDistribution:
    if not all(isinstance(c, (str, int, float, bool, type(None))) for c in choices):
        raise ConfigError(name, shown, "choices that are strings, numbers, true/false or null (Optuna's categorical values)")
    if not choices:
        raise ConfigError(name, shown, "at least one value")
    if len(set(map(repr, choices))) != len(choices):
        raise ConfigError(name, shown, "distinct values")
    return CategoricalDistribution(choices)


def _range(name: str, sweep: RangeSweep, values: list[Any], shown: str) -> BaseDistribution:
    if not values:
        raise ConfigError(name, shown, "a range holding at least one value (start < stop for a positive step)")
    if sweep.step is not None and sweep.step < 0:
        raise ConfigError(name, shown, "a range with a positive step")
    if all(isinstance(v, int) for v in (sweep.start, sweep.stop, sweep.step)):
        return IntDistribution(values[0], values[-1], step=sweep.step)
    return FloatDistribution(float(values[0]), float(values[-1]), step=float(sweep.step))


def _interval(name: str, sweep: IntervalSweep, shown: str) -> BaseDistribution:
    low, high, log = sweep.start, sweep.end, "log" in sweep.tags
    if not low < high:
        raise ConfigError(name, shown, "interval(low, high) with low < high")
    if log and low <= 0:
        raise ConfigError(name, shown, "tag(log, interval(low, high)) with low > 0")
    # `int(interval(a, b))` (Hydra casts the ends to int) or `tag(int, interval(a, b))`.
    if "int" in sweep.tags or (isinstance(low, int) and isinstance(high, int)):
        if not (float(low).is_integer() and float(high).is_integer()):
            raise ConfigError(name, shown, "whole-number ends with tag(int, ...)")
        return IntDistribution(int(low), int(high), log=log)
    return FloatDistribution(float(low), float(high), log=log)


def describe_distribution(distribution: BaseDistribution) -> str:
    """A distribution in words close to the sweep syntax, for error messages."""
    if isinstance(distribution, CategoricalDistribution):
        return f"choice({', '.join(map(str, distribution.choices))})"
    kind = "int" if isinstance(distribution, IntDistribution) else "float"
    log = ", log" if distribution.log else ""
    return f"{kind} interval({distribution.low}, {distribution.high}{log})"
