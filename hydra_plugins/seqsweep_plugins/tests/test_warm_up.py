"""The Ray workers' warm-up: import the trial's heavy modules before the first trial, never raise."""

from __future__ import annotations

import sys

from hydra_plugins.seqsweep_plugins.ray_launcher.worker import import_modules


def test_the_warm_up_imports_each_module_and_reports_those_that_fail_without_raising(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    failed = import_modules(["colorsys", "no_such_module_for_warm_up", "json"])
    assert "colorsys" in sys.modules
    assert list(failed) == ["no_such_module_for_warm_up"]
    assert failed["no_such_module_for_warm_up"].startswith("ModuleNotFoundError: ")
