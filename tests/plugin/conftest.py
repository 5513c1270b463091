"""Run a small Hydra app's multirun in this process, the way its user runs it from a shell."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture()
def run_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """`run_app(script, *overrides)` -> (exit code, stdout + stderr), run with `-m` in tmp_path."""

    def run(script: Path, *overrides: str) -> tuple[int, str]:
        monkeypatch.chdir(tmp_path)
        monkeypatch.syspath_prepend(str(script.parent))
        monkeypatch.setattr(sys, "argv", [str(script), "-m", f"hydra.sweep.dir={tmp_path / 'multirun'}", *overrides])
        GlobalHydra.instance().clear()
        code = 0
        try:
            # As `python script.py -m ...` would: Hydra finds the app's conf/ beside its __main__ file.
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        finally:
            GlobalHydra.instance().clear()
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run
