"""seqsweep: run and compare hyperparameter sweeps of Keras sequence models.

Importing the package quiets TensorFlow's start-up chatter before TensorFlow is imported
(by Keras or directly), once per process; this is the one place that does it.
"""

import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from types import ModuleType

# Keep only FATAL C++ lines: TensorFlow hands its errors to Python as exceptions, and on a
# CPU-only machine its one ERROR line is a failed cuInit. Set the variable to see more.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# absl's C++ logging writes every line to stderr until absl::InitializeLog() runs, whatever
# TF_CPP_MIN_LOG_LEVEL says (abseil/abseil-cpp#1718), and TensorFlow's libraries log their
# oneDNN and CUDA-stub notices while they load, once per library. So the first import of
# tensorflow runs with stderr (the file descriptor, where C++ writes) captured, and the
# captured lines are replayed except those TF_CPP_MIN_LOG_LEVEL would have hidden.
_ABSL_LINE = re.compile(r"^(?P<severity>[IWEF])\d{4} ")
_ABSL_PREINIT = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}


def _hidden(line: str, min_level: int) -> bool:
    if line.startswith(_ABSL_PREINIT):
        return True
    match = _ABSL_LINE.match(line)
    return match is not None and _SEVERITY[match["severity"]] < min_level


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Wraps the loading of the `tensorflow` module with the stderr filter, then steps aside."""

    def find_spec(self, name: str, path, target=None):  # noqa: ANN001 (MetaPathFinder protocol)
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            min_level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") or 0)
            sys.stderr.flush()
            saved = os.dup(2)
            with tempfile.TemporaryFile() as captured:
                os.dup2(captured.fileno(), 2)
                try:
                    load(module)
                finally:
                    os.dup2(saved, 2)
                    os.close(saved)
                    captured.seek(0)
                    lines = captured.read().decode("utf-8", errors="replace").splitlines(keepends=True)
                    sys.stderr.write("".join(line for line in lines if not _hidden(line, min_level)))

        spec.loader.exec_module = exec_module
        return spec


if "tensorflow" not in sys.modules:
    sys.meta_path.insert(0, _QuietTensorFlowImport())

try:
    # TensorFlow's and Keras's Python-side absl warnings (e.g. about saving formats).
    from absl import logging as _absl_logging

    _absl_logging.set_verbosity(_absl_logging.ERROR)
except ImportError:  # absl comes with TensorFlow; without it there is nothing to quiet
    pass
