"""Hydra's config loader for the sweeping process, composing each config-group combination once.

A Hydra composition re-reads and merges every config file (~70-130 ms for the app's config on
2 cores), and the sweeping process composes every trial: the point check of an asked Optuna trial,
then its job. At thousands of trials that is most of the sweeper's own cost per trial
(docs/benchmarks.md). Hydra keeps no compositions, so they are kept here:

- a sweep point's `key=value` overrides on config values (`optimizer.lr=0.01`) change nothing in
  what Hydra composes from the files: those are applied, by Hydra's own override code (its struct
  rules, its errors), to a copy of the composition of the point's other overrides (group choices
  such as `model=gru`, `+`/`~` overrides, `hydra.*`), which is composed once and kept;
- the job's `hydra.overrides.task` and `hydra.job.override_dirname` are then written as Hydra
  writes them, from all of the point's overrides;
- a point composed for its check (`load_point_config`) is kept whole, and its job's
  `load_sweep_config` is handed that very config: an Optuna trial is composed once, checked on a
  copy without its `hydra` node (a fifth of the config), and launched without another copy.

tests/test_compositions.py checks the result against Hydra's own composition, key for key.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

from hydra.core.object_type import ObjectType
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from omegaconf import DictConfig, OmegaConf, open_dict

from hydra_plugins.seqsweep_plugins.engine.hydra_private import apply_config_overrides, overrides_dirname


class RecentCompositions:
    """Hydra's config loader, keeping the compositions of the last `size` group combinations and
    handing out copies with the value overrides applied. Anything else is the wrapped loader's;
    pickled (a Ray executor ships the Hydra context to its workers) it is the wrapped loader alone.
    """

    def __init__(self, loader: Any, size: int = 32) -> None:
        self.loader = loader
        self.size = size
        self._recent: OrderedDict[tuple[int, tuple[str, ...]], tuple[DictConfig, DictConfig]] = OrderedDict()
        self._checked: OrderedDict[tuple[int, tuple[str, ...]], tuple[DictConfig, DictConfig]] = OrderedDict()
        self._groups: dict[int, tuple[DictConfig, frozenset[str]]] = {}
        self._parser = OverridesParser.create()

    def load_sweep_config(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        """The job's config: the one composed for the point's check, when it was checked last
        (handed over: nothing else holds it), else a new one."""
        checked = self._checked.pop(_point_key(master_config, sweep_overrides), None)
        if checked is not None and checked[0] is master_config:
            return checked[1]
        return self._compose(master_config, sweep_overrides)

    def load_point_config(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        """The point's config without its `hydra` node, for the point check: its own copy, as a
        check may change what it gets. The whole config is kept for the point's job."""
        cfg = self._compose(master_config, sweep_overrides)
        _keep(self._checked, _point_key(master_config, sweep_overrides), (master_config, cfg), self.size)
        return _without_hydra(cfg)

    def _compose(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        parsed = self._parser.parse_overrides(list(sweep_overrides))
        groups = self._top_level_groups(master_config)
        values, rest = [], []
        for override in parsed:
            (values if _is_value_override(override, groups) else rest).append(override)
        cfg = copy.deepcopy(self._composed(master_config, [o.input_line for o in rest]))
        if values:
            apply_config_overrides(values, cfg)
            # The master config's own overrides are all hydra.* ones: the job's are the point's.
            app = [o for o in parsed if not o.is_hydra_override()]
            with open_dict(cfg.hydra):
                cfg.hydra.overrides.task = [o.input_line for o in app]
                cfg.hydra.job.override_dirname = overrides_dirname(app, cfg)
        return cfg

    def _composed(self, master_config: DictConfig, overrides: list[str]) -> DictConfig:
        key = (id(master_config), tuple(overrides))
        kept = self._recent.get(key)
        if kept is None or kept[0] is not master_config:
            kept = (master_config, self.loader.load_sweep_config(master_config, list(overrides)))
        _keep(self._recent, key, kept, self.size)
        return kept[1]

    def _top_level_groups(self, master_config: DictConfig) -> frozenset[str]:
        """The config groups an override key names without a `/` (`model`, `optimizer`), as
        Hydra's repository has them for this sweep's primary config and search path."""
        kept = self._groups.get(id(master_config))
        if kept is None or kept[0] is not master_config:
            options = self.loader.get_group_options(
                "",
                results_filter=ObjectType.GROUP,
                config_name=OmegaConf.select(master_config, "hydra.job.config_name"),
                overrides=_master_hydra_overrides(master_config),
            )
            kept = (master_config, frozenset(options))
            self._groups[id(master_config)] = kept
        return kept[1]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)

    def __reduce__(self) -> tuple[Any, tuple[Any]]:
        return _unwrapped, (self.loader,)


def _point_key(master_config: DictConfig, sweep_overrides: list[str]) -> tuple[int, tuple[str, ...]]:
    return id(master_config), tuple(sweep_overrides)


def _keep(recent: OrderedDict[Any, Any], key: Any, value: Any, size: int) -> None:
    recent[key] = value
    recent.move_to_end(key)
    while len(recent) > size:
        recent.popitem(last=False)


def _without_hydra(cfg: DictConfig) -> DictConfig:
    """A copy of `cfg` without its `hydra` node, with the same flags (struct): copying the other
    nodes alone takes a fifth of the time of a whole deepcopy. OmegaConf copies the nodes it is given."""
    nodes = {key: cfg._get_node(key) for key in cfg.keys() if key != "hydra"}
    return OmegaConf.create(nodes, flags=dict(cfg._metadata.flags))


def _is_value_override(override: Override, groups: frozenset[str]) -> bool:
    """`key=value` on a config value: what Hydra applies after composing, leaving the files'
    composition as it is. Group choices, additions, deletions and `hydra.*` are not."""
    key = override.key_or_group
    return (
        override.type == OverrideType.CHANGE
        and override.package is None
        and not override.is_sweep_override()
        and not override.is_hydra_override()
        and "/" not in key
        and key not in groups
        and not isinstance(override.value(), dict)
    )


def _master_hydra_overrides(master_config: DictConfig) -> list[str]:
    overrides = OmegaConf.select(master_config, "hydra.overrides.hydra")
    return list(OmegaConf.to_container(overrides)) if overrides is not None else []  # type: ignore[arg-type]


def _unwrapped(loader: Any) -> Any:
    return loader
