"""Composing sweep points: once each in the sweeping process (the check's composition is the job's),
and a signal that lands while composing is the signal, not a bad point."""

from __future__ import annotations

import pickle
import signal
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from omegaconf import OmegaConf

from hydra_plugins.seqsweep_plugins.engine.loop import SweepInterrupted
from hydra_plugins.seqsweep_plugins.engine.points import PointComposer, RecentCompositions

APP = Path(__file__).parent / "apps" / "objective.py"


class CountingLoader:
    def __init__(self) -> None:
        self.loads: list[tuple[str, ...]] = []

    def load_sweep_config(self, master_config, sweep_overrides):
        self.loads.append(tuple(sweep_overrides))
        return OmegaConf.create({"x": len(self.loads), "hydra": {"job": {"id": None}}})

    def get_sources(self):
        return ["the loader's own"]


def test_the_same_overrides_are_composed_once_and_each_caller_gets_its_own_copy() -> None:
    loader = CountingLoader()
    recent = RecentCompositions(loader, size=2)
    master = OmegaConf.create({})
    first = recent.load_sweep_config(master, ["x=1"])
    first.hydra.job.id = 7  # a launcher sets the job's id on what it got
    again = recent.load_sweep_config(master, ["x=1"])
    assert loader.loads == [("x=1",)] and again.hydra.job.id is None and again.x == first.x
    # Another master config (another sweep) is composed anew, even with the same overrides.
    recent.load_sweep_config(OmegaConf.create({}), ["x=1"])
    assert len(loader.loads) == 2


def test_only_the_last_size_compositions_are_kept() -> None:
    loader = CountingLoader()
    recent = RecentCompositions(loader, size=2)
    master = OmegaConf.create({})
    for point in (["x=1"], ["x=2"], ["x=1"], ["x=3"], ["x=2"], ["x=1"]):
        recent.load_sweep_config(master, point)
    # x=1 was used again before x=3 pushed the oldest (x=2) out; then x=2 pushed x=1 out.
    assert loader.loads == [("x=1",), ("x=2",), ("x=3",), ("x=2",), ("x=1",)]


def test_anything_else_and_its_pickle_are_the_wrapped_loader() -> None:
    loader = CountingLoader()
    recent = RecentCompositions(loader)
    recent.load_sweep_config(OmegaConf.create({}), ["x=1"])
    assert recent.get_sources() == ["the loader's own"]
    # What a Ray executor ships to its workers: the loader, without the configs kept here.
    assert type(pickle.loads(pickle.dumps(recent))) is CountingLoader


def test_an_optuna_sweep_composes_each_trial_once(run_app, monkeypatch) -> None:
    composed: Counter[tuple[str, ...]] = Counter()
    load = ConfigLoaderImpl.load_sweep_config

    def counted(self, master_config, sweep_overrides):
        composed[tuple(sweep_overrides)] += 1
        return load(self, master_config, sweep_overrides)

    monkeypatch.setattr(ConfigLoaderImpl, "load_sweep_config", counted)
    code, output = run_app(
        APP,
        "hydra/sweeper=optuna",
        "hydra.sweeper.storage=null",
        "hydra.sweeper.n_trials=6",
        "hydra.sweeper.sampler.seed=1",
        "x=range(0,100)",
    )
    assert code == 0, output
    trials = [point for point in composed if point != ("x=0",) and point != ("x=99",)]
    # Each asked point was checked, then launched by Hydra's basic launcher: one composition.
    assert len(trials) >= 4 and all(composed[point] == 1 for point in trials), composed


class InterruptedLoader:
    """Hydra composing when Ctrl-C lands: OmegaConf's clean-up fails on the half-made node and its
    AttributeError replaces the interrupt."""

    def load_sweep_config(self, master_config, sweep_overrides):
        node = None
        try:
            raise SweepInterrupted(signal.SIGINT)
        finally:
            node._invalidate_flags_cache()


def test_a_signal_a_composition_turned_into_an_error_is_raised_not_taken_for_a_bad_point() -> None:
    composer = PointComposer(SimpleNamespace(config_loader=InterruptedLoader()), OmegaConf.create({}), None)
    with pytest.raises(SweepInterrupted):
        composer.error(["x=1"])
    # A plain composition error is the point's, as before.
    loader = SimpleNamespace(load_sweep_config=lambda master_config, sweep_overrides: {}["missing"])
    assert PointComposer(SimpleNamespace(config_loader=loader), OmegaConf.create({}), None).error(["x=1"]) == (
        "'missing' (in sweep point: x=1)"
    )
