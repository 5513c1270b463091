"""`hydra/sweeper=grid`: every combination of the swept values, each point checked before the first trial.

Hydra's basic sweeper expands the grid the same way, but launches it in blocking batches, has no
point check, no tracker and stops at the first failed job. This one composes every point (and
runs the app's point check on it) before anything runs, then keeps the launcher's slots busy and
records each trial as it ends (engine/loop.py). Settings: config.py.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override

from hydra_plugins.seqsweep_plugins.engine.best_rule import BestRule, BestSoFar, Candidate
from hydra_plugins.seqsweep_plugins.engine.console import bare_key, say, short_settings
from hydra_plugins.seqsweep_plugins.engine.errors import PointRefused, first_line
from hydra_plugins.seqsweep_plugins.engine.executor import Job
from hydra_plugins.seqsweep_plugins.engine.job_context import JobContext
from hydra_plugins.seqsweep_plugins.engine.outcome import Outcome, TrialState
from hydra_plugins.seqsweep_plugins.engine.points import PointComposer
from hydra_plugins.seqsweep_plugins.engine.resume import check_resume, pending_points
from hydra_plugins.seqsweep_plugins.engine.secrets import mask_secrets
from hydra_plugins.seqsweep_plugins.engine.template import SweepPlan, SweepTemplate
from hydra_plugins.seqsweep_plugins.engine.tracker import SweepStart, SweepTracker


class GridSweeper(SweepTemplate):
    kind = "grid"
    need_values = False

    def __init__(
        self,
        params: dict[str, str] | None = None,
        max_batch_size: int | None = None,
        resume: str | None = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.params = params or {}
        self.resume = None if resume is None else str(resume)

    def plan(self, arguments: list[str]) -> SweepPlan:
        texts = [f"{key}={value}" for key, value in self.params.items()] + list(arguments)
        points, varying = expand_grid(texts, self.hydra_context.config_loader)
        fixed = sorted({text for point in points for text in point if bare_key(text.split("=", 1)[0]) not in varying})
        return SweepPlan(varying=varying, fixed=fixed, details={"points": points})

    def check_points(self, plan: SweepPlan, composer: PointComposer) -> None:
        for point in plan.details["points"]:
            error = composer.error(point)
            if error is not None:
                raise PointRefused(error)

    def check_tracker(self, tracker: SweepTracker) -> None:
        check_resume(self.resume, tracker)

    def describe(self, plan: SweepPlan) -> list[str]:
        points = plan.details["points"]
        lines = [f"dry run: grid of {len(points)} trial(s) varying {', '.join(plan.varying) or 'nothing'}"]
        lines += [f"  #{number} {short_settings(_varying(point, plan.varying))}" for number, point in enumerate(points)]
        if plan.fixed:
            lines.append(f"  every trial: {' '.join(plan.fixed)}")
        return lines

    def announce(self, plan: SweepPlan) -> str:
        points = plan.details["points"]
        return f"grid of {len(points)} trial(s) varying {', '.join(plan.varying) or 'nothing'}"

    def header(self, plan: SweepPlan, sweep_dir: Path) -> str:
        return f"folder {sweep_dir}"

    def sweep_start(self, plan: SweepPlan, sweep_dir: Path) -> SweepStart:
        start = super().sweep_start(plan, sweep_dir)
        points = plan.details["points"]
        start.total = len(points)
        start.sweep_key = sweep_key(self.label(), points)
        start.resume = self.resume
        return start

    def source(self, plan: SweepPlan, sweep_data: dict[str, Any]) -> GridSource:
        pending, note = pending_points(plan.details["points"], self.resume, self.tracker)
        if note:
            say(note)
        return GridSource(pending, plan.varying, sweep_data, self.objectives)

    def planned_trials(self, source: GridSource) -> int:
        return len(source.pending)

    def best(self, source: GridSource) -> tuple[list[dict[str, Any]], str | None]:
        best, reason = source.best(self.best_rule, self.directions[0])
        if reason is not None and source.ended:
            say(f"no best trial: {reason}")
        return best, reason


class GridSource:
    """The grid's points in order; a lost trial runs again as a new trial naming the one it repeats."""

    def __init__(
        self, pending: list[tuple[int, list[str]]], varying: list[str], sweep_data: dict[str, Any], objectives: list[str]
    ) -> None:
        self.pending = list(pending)
        self.next_number = max((number for number, _ in pending), default=-1) + 1
        self.varying = varying
        self.sweep_data = sweep_data
        self.objectives = objectives
        self.ended: list[tuple[Job, Outcome]] = []

    def next_job(self) -> Job | None:
        if not self.pending:
            return None
        number, point = self.pending.pop(0)
        return self._job(number, point, {})

    def record(self, job: Job, outcome: Outcome) -> None:
        self.ended.append((job, outcome))

    def rerun(self, job: Job) -> Job:
        number, self.next_number = self.next_number, self.next_number + 1
        return self._job(number, job.overrides, {"retry_of": job.context.tags.get("retry_of", str(job.context.number))})

    def best(self, rule: BestRule, direction: str) -> tuple[list[dict[str, Any]], str | None]:
        """The best completed trial `rule` allows, as one row (none, and why, when none qualifies)."""
        jobs = {}
        tracker = BestSoFar(rule, direction)
        for job, outcome in self.ended:
            if outcome.state is TrialState.COMPLETE and outcome.values:
                jobs[job.context.number] = job
                tracker.add(Candidate(job.context.number, outcome.values, rule.evidence(outcome.metrics)))
        best = tracker.best()
        if best is None:
            return [], tracker.reason() if tracker.added else None
        job = jobs[best.number]
        row = {"trial": best.number, **dict(zip(self.objectives, best.values)), **best.evidence}
        return [{**row, **_as_params(job.context.varying)}], None

    def _job(self, number: int, point: list[str], tags: dict[str, str]) -> Job:
        varying = _varying(point, self.varying)
        # sweep_point lets a tracker tell which points have a finished trial when the sweep resumes.
        tags = {**tags, "sweep_point": mask_secrets(" ".join(point))}
        context = JobContext(
            number=number, overrides=list(point), varying=varying, sweep=self.sweep_data, tags=tags, objectives=self.objectives
        )
        return Job(overrides=list(point), idx=number, context=context)


def expand_grid(texts: list[str], config_loader: Any = None) -> tuple[list[list[str]], list[str]]:
    """Every point of the grid as override lists (the product of each key's values, in the order
    Hydra's basic sweeper uses: a later override of a key replaces an earlier one in its place),
    and the keys that take more than one value. `config_loader` lets `glob(...)` list a group's options."""
    parser = OverridesParser.create(config_loader=config_loader)
    try:
        overrides = parser.parse_overrides(texts)
    except Exception as error:  # noqa: BLE001 - Hydra's parser message, made one line by refuse()
        raise PointRefused(first_line(error)) from None
    values: dict[str, list[str]] = {}
    for override in overrides:
        values[override.get_key_element()] = _override_values(override)
    varying = [bare_key(key) for key, options in values.items() if len(options) > 1]
    return [list(point) for point in itertools.product(*values.values())], varying


def _override_values(override: Override) -> list[str]:
    key = override.get_key_element()
    if not override.is_sweep_override():
        return [f"{key}={override.get_value_element_as_str()}"]
    if not override.is_discrete_sweep():
        raise PointRefused(f"{override.input_line}: the grid sweeper takes lists and range(...), not interval(...)")
    return [f"{key}={value}" for value in override.sweep_string_iterator()]


def sweep_key(label: str, points: list[list[str]]) -> str:
    """The same for every run of the same grid command, whatever order its points came in."""
    text = json.dumps([label, sorted(mask_secrets(" ".join(point)) for point in points)])
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _varying(point: list[str], varying_keys: list[str]) -> list[str]:
    return [text for text in point if bare_key(text.split("=", 1)[0]) in varying_keys]


def _as_params(overrides: list[str]) -> dict[str, str]:
    return dict(text.split("=", 1) for text in overrides)
