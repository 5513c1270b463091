"""Composing sweep points: once each in the sweeping process (the check's composition is the job's),
and a signal that lands while composing is the signal, not a bad point."""

from __future__ import annotations

import pickle
import signal
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from hydra import initialize_config_dir
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode
from omegaconf import OmegaConf

from hydra_plugins.seqsweep_plugins.engine.compositions import RecentCompositions
from hydra_plugins.seqsweep_plugins.engine.loop import SweepInterrupted
from hydra_plugins.seqsweep_plugins.engine.points import PointComposer

APP = Path(__file__).parent / "apps" / "objective.py"


class CountingLoader:
    def __init__(self) -> None:
        self.loads: list[tuple[str, ...]] = []

    def load_sweep_config(self, master_config, sweep_overrides):
        self.loads.append(tuple(sweep_overrides))
        return OmegaConf.create({"x": len(self.loads), "hydra": {"job": {"id": None}}})

    def get_sources(self):
        return ["the loader's own"]

    def get_group_options(self, group_name, results_filter=None, config_name=None, overrides=None):
        return ["x"]  # x=... chooses a config of group x: each is composed in full


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


def test_a_checked_point_is_handed_to_its_job_and_the_check_gets_a_copy_without_hydra() -> None:
    loader = CountingLoader()
    recent = RecentCompositions(loader)
    master = OmegaConf.create({})
    checked = recent.load_point_config(master, ["x=1"])
    assert "hydra" not in checked and OmegaConf.is_struct(checked) is OmegaConf.is_struct(master)
    checked.x = -1  # a point check may change what it gets
    job = recent.load_sweep_config(master, ["x=1"])
    assert job.x == 1 and "hydra" in job
    job.hydra.job.id = 7
    # The kept config went to that one job: the next caller gets a copy of the composition.
    again = recent.load_sweep_config(master, ["x=1"])
    assert again is not job and again.hydra.job.id is None and loader.loads == [("x=1",)]
    # A job of other overrides, or of another sweep, is not handed a checked point's config.
    recent.load_point_config(master, ["x=2"])
    assert recent.load_sweep_config(OmegaConf.create({}), ["x=2"]).x == 3


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


def test_an_optuna_sweep_composes_the_files_once_per_group_choice(run_app, monkeypatch) -> None:
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
        "shape=choice(round,square)",
    )
    assert code == 0, output
    # Twelve points composed (six checked before the first trial, six asked and launched), from
    # two compositions of the files: one per shape; each x was applied to a copy.
    assert set(composed) == {("shape=round",), ("shape=square",)} and set(composed.values()) == {1}, composed
    assert output.count("shape=square") + output.count("shape=round") >= 6


class CountingCompositions:
    """A real config loader, counting its compositions."""

    def __init__(self, loader) -> None:
        self.loader = loader
        self.loads: list[tuple[str, ...]] = []

    def load_sweep_config(self, master_config, sweep_overrides):
        self.loads.append(tuple(sweep_overrides))
        return self.loader.load_sweep_config(master_config, sweep_overrides)

    def __getattr__(self, name):
        return getattr(self.loader, name)


def test_value_overrides_on_a_kept_composition_give_what_hydra_composes(tmp_path) -> None:
    conf = tmp_path / "conf"
    (conf / "model").mkdir(parents=True)
    (conf / "config.yaml").write_text("defaults:\n  - model: a\n  - _self_\nlr: 0.1\nnested:\n  x: 1\n  y: ${lr}\ntags: [a]\n")
    (conf / "model" / "a.yaml").write_text("name: a\nunits: 8\n")
    (conf / "model" / "b.yaml").write_text("name: b\nunits: 16\nextra: 1\n")
    points = [
        ["lr=0.5"],
        ["model=b", "lr=0.2", "model.extra=5"],
        ["nested.x=3", "model=a", "model.units=64", "tags=[b,c]"],
        ["+new=1", "lr=0.3"],
        ["hydra.job.name=other", "lr=0.4", "nested.y=null"],
        ["lr=0.5", "hydra.sweep.subdir=${hydra.job.override_dirname}"],
    ]
    refused = [["no_such_key=1"], ["model.no_such=1"], ["model=c"], ["lr=0.1", "model.name.deeper=1"]]
    with initialize_config_dir(config_dir=str(conf), version_base=None, job_name="app"):
        hydra = GlobalHydra.instance().hydra
        master = hydra.compose_config("config", overrides=["lr=0.7"], run_mode=RunMode.MULTIRUN)
        loader = hydra.config_loader
        counting = CountingCompositions(loader)
        kept = RecentCompositions(counting)
        for point in points + points:  # the second round from the kept compositions
            ours = kept.load_sweep_config(master, point)
            hydras = loader.load_sweep_config(master, point)
            assert OmegaConf.to_container(ours) == OmegaConf.to_container(hydras), point
            assert OmegaConf.is_struct(ours) and OmegaConf.to_yaml(ours) == OmegaConf.to_yaml(hydras)
            # A checked point: the check's copy is Hydra's without the hydra node; the job gets the rest.
            checked, handed = kept.load_point_config(master, point), kept.load_sweep_config(master, point)
            app = {key: value for key, value in OmegaConf.to_container(hydras).items() if key != "hydra"}
            assert OmegaConf.to_container(checked) == app and OmegaConf.is_struct(checked), point
            assert OmegaConf.to_yaml(handed) == OmegaConf.to_yaml(hydras), point
        # The files were composed once per combination of the other overrides, value overrides left out.
        assert counting.loads == [(), ("model=b",), ("model=a",), ("+new=1",), ("hydra.job.name=other",), (points[-1][1],)]
        for point in refused:
            with pytest.raises(Exception) as hydras:
                loader.load_sweep_config(master, point)
            with pytest.raises(type(hydras.value)) as ours:
                kept.load_sweep_config(master, point)
            assert str(ours.value) == str(hydras.value), point


class InterruptedLoader:
    """Hydra composing when Ctrl-C lands: OmegaConf's clean-up fails on the half-made node and its
    AttributeError replaces the interrupt."""

    def get_group_options(self, group_name, results_filter=None, config_name=None, overrides=None):
        return []

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
    loader = SimpleNamespace(
        load_sweep_config=lambda master_config, sweep_overrides: {}["missing"], get_group_options=lambda *a, **k: []
    )
    assert PointComposer(SimpleNamespace(config_loader=loader), OmegaConf.create({}), None).error(["x=1"]) == (
        "'missing' (in sweep point: x=1)"
    )
