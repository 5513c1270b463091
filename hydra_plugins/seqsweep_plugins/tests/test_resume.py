"""Resuming a grid: refused without a tracker that keeps records; only unfinished points run, numbered after the old ones."""

from __future__ import annotations

import pytest

from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError
from hydra_plugins.seqsweep_plugins.engine.resume import check_resume, pending_points
from hydra_plugins.seqsweep_plugins.engine.tracker import SweepTracker

POINTS = [["x=0"], ["x=1"], ["x=2"]]


class Records(SweepTracker):
    keeps_records = True

    def resume_state(self) -> tuple[list[list[str]], int]:
        return [["x=1"]], 7


def test_resume_without_a_tracker_that_keeps_records_is_refused_in_one_line():
    with pytest.raises(ConfigError, match=r"^hydra\.sweeper\.resume=last is not allowed: null or never: .*keeps no records"):
        check_resume("last", SweepTracker())
    check_resume(None, SweepTracker())
    check_resume("never", SweepTracker())
    check_resume("last", Records())


def test_a_fresh_sweep_runs_every_point_from_trial_0():
    assert pending_points(POINTS, None, Records()) == ([(0, ["x=0"]), (1, ["x=1"]), (2, ["x=2"])], None)
    assert pending_points(POINTS, "never", Records())[1] is None


def test_a_resumed_sweep_runs_only_the_points_without_a_finished_trial_numbered_after_the_old_trials():
    pending, note = pending_points(POINTS, "last", Records())
    assert pending == [(7, ["x=0"]), (8, ["x=2"])]
    assert note == "resuming: 1 of 3 point(s) have a finished trial; running the other 2"
