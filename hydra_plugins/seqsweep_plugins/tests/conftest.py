"""Run a small Hydra app's multirun in this process, the way its user runs it from a shell."""

from __future__ import annotations

import contextlib
import io
import runpy
import sys
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra


@pytest.fixture()
def run_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`run_app(script, *overrides)` -> (exit code, stdout + stderr), run with `-m` in tmp_path."""

    def run(script: Path, *overrides: str) -> tuple[int, str]:
        monkeypatch.chdir(tmp_path)
        monkeypatch.syspath_prepend(str(script.parent))
        monkeypatch.setattr(sys, "argv", [str(script), "-m", f"hydra.sweep.dir={tmp_path / 'multirun'}", *overrides])
        GlobalHydra.instance().clear()
        # absl (imported with TensorFlow by other test modules) keeps a handler writing to the stderr
        # of its import time: pytest's capture. Hydra's logging set-up closes every existing handler,
        # and absl's close() closes that stream unless it is a real std stream, which ends pytest.
        if "absl.logging" in sys.modules:
            monkeypatch.setattr(sys.modules["absl.logging"].get_absl_handler().python_handler, "stream", sys.__stderr__)
        code = 0
        # Plain buffers, not capsys: Hydra points its log handlers at the streams of the moment, and
        # a capture that pytest closes after the test would break the next test's logging.
        output = io.StringIO()
        try:
            # As `python script.py -m ...` would: Hydra finds the app's conf/ beside its __main__ file.
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                runpy.run_path(str(script), run_name="__main__")
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        finally:
            GlobalHydra.instance().clear()
        return code, output.getvalue()

    return run
