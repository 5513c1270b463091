"""Refuse a mistyped command line in one line, exit code 2, before Hydra composes anything.

Hydra answers these mistakes itself, but in several lines with exit code 1, and for an unknown
key it advises `+key=value`, which adds the typo instead of fixing it. Hydra has no hook that
rewrites its composition errors, so the entry point reads the overrides first, with Hydra's own
override parser, and compares them with the files in conf/ (the same rules as the composed
config's checks in `src.validation`). What needs the composed config stays there. What Hydra
still refuses on its own before composing (its own `hydra.*` settings) is caught as it reports it
and printed as one line (`hydra_errors_in_one_line`).
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from hydra.experimental.callback import Callback

from hydra_plugins.seqsweep_plugins import ConfigError, first_line, refuse
from src.validation import CONF_DIR, group_options, known_keys, unknown_key_advice

PRESETS = "sweeps"


def refuse_command_line_mistakes(arguments: list[str]) -> None:
    """Exit with one line (code 2) for the first mistake in `arguments`; return when there is none."""
    refuse_cfg_with_multirun(arguments)
    for argument in _overrides(arguments):
        override = _parsed(argument)
        try:
            _check_override(override, argument)
        except ValueError as error:  # ConfigError, or a mistake that is not one key's value
            refuse(error)


def refuse_cfg_with_multirun(arguments: list[str]) -> None:
    """Hydra answers `-m --cfg job` with a traceback ("Only one of --run, --multirun, ..."): one line instead."""
    multirun = any(a in ("-m", "--multirun") for a in arguments)
    if multirun and any(a in ("-c", "--cfg") or a.startswith("--cfg=") for a in arguments):
        refuse(
            "--cfg with -m is not allowed: --cfg prints one run's config (drop -m and give one value per key); "
            "to list a sweep's points, use -m ... hydra.sweeper.dry_run=true"
        )


def _overrides(arguments: list[str]) -> Iterator[str]:
    """The overrides among Hydra's arguments (flags and their values left out)."""
    takes_value = {"-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn", "--config-name", "-cd", "--config-dir"}
    skip = False
    for argument in arguments:
        if skip:
            skip = False
        elif argument in takes_value:
            skip = True
        elif not argument.startswith("-") and "=" in argument:
            yield argument


def _parsed(argument: str) -> Override:
    try:
        return OverridesParser.create().parse_override(argument)
    except Exception as error:  # noqa: BLE001 - Hydra's parser errors have no common base we can name
        refuse(f"{argument} is not allowed: Hydra's override syntax ({first_line(error)})")


def _check_override(override: Override, argument: str) -> None:
    key = override.key_or_group
    if key == "hydra" or key.startswith(("hydra.", "hydra/")) or override.package is not None:
        return  # Hydra's own settings, and package moves, are Hydra's to check
    if override.type == OverrideType.DEL:
        return
    if (CONF_DIR / key).is_dir():
        _check_group_choice(override, key, argument)
    elif override.type == OverrideType.CHANGE and key not in known_keys():
        raise ConfigError(key, argument.partition("=")[2], unknown_key_advice(key, known_keys()))
    elif override.type == OverrideType.ADD and key in known_keys():
        raise ValueError(f"{argument} is not allowed: {key} is already set; write {argument.lstrip('+')} (no +)")


def _check_group_choice(override: Override, group: str, argument: str) -> None:
    if group == PRESETS and override.type == OverrideType.CHANGE:
        presets = ", ".join(group_options(group))
        raise ValueError(f"{argument} is not allowed: a preset is added, not chosen: write +{argument} (presets: {presets})")
    options = group_options(group)
    for choice in _choices(override):
        if choice not in options:
            shown_key = f"+{group}" if override.type == OverrideType.ADD else group
            raise ConfigError(shown_key, choice, "one of " + ", ".join(options))


def _choices(override: Override) -> list[str]:
    """The option names an override picks: one, or each of a sweep's (`model=lstm,gru`,
    `choice(lstm, gru)`); ranges, globs and intervals are left to Hydra."""
    if not override.is_sweep_override():
        value = override.value()
        return [value] if isinstance(value, str) else []
    if override.value_type is not None and "CHOICE" in override.value_type.name and "GLOB" not in override.value_type.name:
        return [value for value in override.sweep_string_iterator()]
    return []


# Hydra's last line on an error it reports itself (run_and_report), and lines that only restate
# the key or advise `+key`, which adds the typo instead of fixing it.
_HYDRA_TRAILER = "Set the environment variable HYDRA_FULL_ERROR=1"
_NOISE = ("To append to your config use", "full_key:", "object_type=", "reference_type=", "Config search path:", "provider=")


@contextlib.contextmanager
def hydra_errors_in_one_line() -> Iterator[None]:
    """Hold stderr back until Hydra has composed the config (`ConfigComposed` lets go); if Hydra
    stops before that with its own multi-line error (exit code 1), print it as one line, exit 2.

    Hydra offers no hook that rewrites its composition errors (`run_and_report` prints them and
    exits), so what it writes to stderr is read instead. Anything else held back is let through.
    """
    real = sys.stderr
    held = io.StringIO()
    sys.stderr = held
    ConfigComposed.release = lambda: _release(real, held)
    try:
        yield
    except SystemExit as stop:
        text = held.getvalue() if sys.stderr is held else ""
        if stop.code == 1 and _HYDRA_TRAILER in text:
            sys.stderr = real
            refuse(hydra_error_line(text))
        raise
    finally:
        _release(real, held)


def _release(real: Any, held: io.StringIO) -> None:
    if sys.stderr is held:
        sys.stderr = real
        real.write(held.getvalue())
        real.flush()


def hydra_error_line(text: str) -> str:
    """Hydra's error message as one line: its first lines without the noise, and a missing group
    option's alternatives (`Available options in 'hydra/launcher': basic, ray`) named."""
    lines = text.splitlines()
    options = []
    if any(line.startswith("Available options in") for line in lines):
        start = next(i for i, line in enumerate(lines) if line.startswith("Available options in"))
        for line in lines[start + 1 :]:
            if not line.startswith("\t"):
                break
            options.append(line.strip())
        lines = lines[:start]
    kept = [line.strip() for line in lines if line.strip() and not line.strip().startswith((_HYDRA_TRAILER, *_NOISE))]
    message = ": ".join(line.rstrip(".") for line in kept[:2]) if kept else "Hydra could not compose the config"
    return f"{message}; the options are {', '.join(options)}" if options else message


class ConfigComposed(Callback):
    """Named in conf/config.yaml's `hydra.callbacks`: Hydra calls it once the config is composed,
    before the run or the sweep starts, which is where `hydra_errors_in_one_line` lets stderr go."""

    release: Any = staticmethod(lambda: None)

    def on_run_start(self, config: Any, **kwargs: Any) -> None:
        ConfigComposed.release()

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        ConfigComposed.release()
