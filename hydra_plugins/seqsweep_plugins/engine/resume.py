"""Resuming a grid sweep that did not finish: which points still need a trial, and their numbers.

`hydra.sweeper.resume`: null (the tracker refuses to start when an unfinished sweep of the
same command exists), `never` (start anew regardless), `last` (the newest unfinished sweep of
the same command) or a sweep's record id (the tracker's: an MLflow parent run id for ours).
The tracker finds that sweep and reads which points already finished (`resume_state`); this
module decides what runs. A sweep without a tracker that keeps records cannot resume: refused.
(The Optuna sweeper resumes through its study: re-running the command continues it.)
"""

from __future__ import annotations

from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError
from hydra_plugins.seqsweep_plugins.engine.tracker import SweepTracker

FRESH = (None, "never")


def check_resume(resume: str | None, tracker: SweepTracker) -> None:
    if resume not in FRESH and not tracker.keeps_records:
        raise ConfigError(
            "hydra.sweeper.resume",
            resume,
            "null or never: this sweep's tracker keeps no records to resume from (hydra.sweeper.tracker)",
        )


def pending_points(
    points: list[list[str]], resume: str | None, tracker: SweepTracker
) -> tuple[list[tuple[int, list[str]]], str | None]:
    """The points to run with their trial numbers, and a line saying what resuming skipped (None: a fresh sweep)."""
    if resume in FRESH:
        return list(enumerate(points)), None
    finished, first_free = tracker.resume_state()
    done = {" ".join(point) for point in finished}
    rest = [point for point in points if " ".join(point) not in done]
    numbered = list(enumerate(rest, max(first_free, 0)))
    note = (
        f"resuming: {len(points) - len(rest)} of {len(points)} point(s) have a finished trial; running the other {len(rest)}"
    )
    return numbered, note
