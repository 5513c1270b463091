"""Refuse a mistyped command line in one line, exit code 2, before Hydra composes anything.

Hydra answers these mistakes itself, but in several lines with exit code 1, and for an unknown
key it advises `+key=value`, which adds the typo instead of fixing it. Hydra has no hook that
rewrites its composition errors, so the entry point reads the overrides first, with Hydra's own
override parser, and compares them with the files in conf/ (the same rules as the composed
config's checks in `src.validation`). What needs the composed config stays there.
"""

from __future__ import annotations

from collections.abc import Iterator

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType

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
