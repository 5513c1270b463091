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


def test_the_code_fingerprint_follows_the_code_and_nothing_else(tmp_path) -> None:
    from hydra_plugins.seqsweep_plugins.ray_launcher.warm_pool import code_fingerprint

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "model.py").write_text("UNITS = 8\n")
    for skipped in (".git", "outputs", "__pycache__", "venv"):
        (tmp_path / skipped).mkdir()
    (tmp_path / "venv" / "pyvenv.cfg").write_text("")
    before = code_fingerprint([str(tmp_path), None, str(tmp_path / "missing")])
    for skipped in (".git", "outputs", "__pycache__", "venv"):
        (tmp_path / skipped / "x.py").write_text("changed = True\n")
    (tmp_path / "app" / "notes.txt").write_text("not code")
    assert code_fingerprint([str(tmp_path)]) == before
    (tmp_path / "app" / "model.py").write_text("UNITS = 16\n")
    assert code_fingerprint([str(tmp_path)]) != before
