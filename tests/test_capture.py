"""The test process's own plumbing: what in-process sweeps do to logging must not break pytest."""

from __future__ import annotations

import io
import logging.config
import sys


def test_reconfiguring_logging_while_stderr_is_swapped_leaves_pytests_capture_open():
    # What an in-process sweep does: Hydra's dictConfig at each job while the CLI holds stderr.
    capture = sys.stderr
    sys.stderr = io.StringIO()
    try:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    finally:
        sys.stderr = capture
    assert not capture.closed
    print("still captured", file=sys.stderr)
