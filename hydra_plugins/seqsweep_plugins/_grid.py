"""The grid sweep: expand, check every point, run them all, report (settings: grid_sweeper.py).

An underscore module: Hydra's plugin scan skips it, so it is imported only when a grid runs."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser

from hydra_plugins.seqsweep_plugins._base import SweeperBase, bare_key
from hydra_plugins.seqsweep_plugins._console import PointRefused, SweepConfigError, SweepRefused, first_line, refuse, say
from hydra_plugins.seqsweep_plugins._job import JobContext
from hydra_plugins.seqsweep_plugins._loop import LoopRules, finish, run_trials
from hydra_plugins.seqsweep_plugins._outcome import COMPLETE, Outcome
from hydra_plugins.seqsweep_plugins.executor import Job
from hydra_plugins.seqsweep_plugins.hooks import SweepEnd, SweepStart
from hydra_plugins.seqsweep_plugins.secrets import mask_secrets


class GridSweeperImpl(SweeperBase):
    def __init__(
        self,
        params: dict[str, str] | None = None,
        max_batch_size: int | None = None,
        objectives: Any = None,
        resume: str | None = None,
        **common: Any,
    ) -> None:
        super().__init__(objectives=objectives, **common)
        self.params = params or {}
        self.resume = None if resume is None else str(resume)

    def sweep(self, arguments: list[str]) -> list[tuple[Job, Outcome]]:
        try:
            self.check_settings()
            composer, tracker = self.load_hooks()
            points, varying = self._expand(arguments)
            for point in points:
                error = composer.error(point)
                if error is not None:
                    raise PointRefused(error)
        except (SweepConfigError, PointRefused) as error:
            refuse(str(error))
        sweep_dir = self.save_sweep_config()
        fixed = sorted({text for point in points for text in point if bare_key(text.split("=", 1)[0]) not in varying})
        say(f"grid of {len(points)} trial(s) varying {', '.join(varying) or 'nothing'}; folder {sweep_dir}")
        start = SweepStart(
            sweeper="grid",
            label=self.label(),
            config=self.config,
            sweep_dir=str(sweep_dir),
            total=len(points),
            varying=varying,
            fixed=fixed,
            objectives=self.objectives,
            directions=self.directions,
            sweep_key=sweep_key(self.label(), points),
            resume=self.resume,
        )
        try:
            sweep_data = tracker.on_sweep_start(start) or {}
        except (SweepConfigError, SweepRefused) as error:
            refuse(str(error))
        except Exception as error:  # noqa: BLE001 - e.g. a store the tracker cannot write: one line, no trial started
            refuse(f"{type(error).__name__}: {first_line(error)}" if not str(error) else first_line(error), code=1)
        source = GridSource(points, varying, sweep_data, self.objectives)
        if self.resume not in (None, "never"):
            finished, first_free = tracker.resume_state()
            source.skip(finished, first_free)
            say(
                f"resuming: {len(points) - len(source.pending)} of {len(points)} point(s) have a finished trial; running the other {len(source.pending)}"
            )
        executor = self.executor()
        rules = LoopRules(
            objective=self.objectives[0],
            direction=self.directions[0],
            total=len(source.pending),
            timeout=self.timeout,
            max_failure_rate=self.max_failure_rate,
            max_retries=getattr(executor, "max_retries", 0),
            job_overrides=self.job_overrides,
            need_values=False,
        )
        try:
            result = run_trials(source, executor, tracker, rules, self.objectives)
        finally:
            executor.close()
        tracker.on_sweep_end(
            SweepEnd(
                result.status,
                dict(result.counts),
                source.best(self.directions[0]),
                self.objectives,
                self.directions,
                result.seconds,
                result.message,
            )
        )
        finish(result)
        return source.ended

    def _expand(self, arguments: list[str]) -> tuple[list[list[str]], list[str]]:
        """Every point of the grid as override lists, and the keys that take more than one value."""
        texts = [f"{key}={value}" for key, value in self.params.items()] + list(arguments)
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        try:
            overrides = parser.parse_overrides(texts)
        except Exception as error:  # noqa: BLE001 - Hydra's parser message, made one line by refuse()
            raise PointRefused(str(error)) from None
        varying = [
            bare_key(o.get_key_element()) for o in overrides if o.is_sweep_override() and len(list(o.sweep_iterator())) > 1
        ]
        (points,) = BasicSweeper.split_arguments(overrides, None)
        return [list(point) for point in points], varying


class GridSource:
    """The grid's points in order; a lost trial runs again as a new trial naming the one it repeats."""

    def __init__(self, points: list[list[str]], varying: list[str], sweep_data: dict[str, Any], objectives: list[str]) -> None:
        self.pending = list(enumerate(points))
        self.next_number = len(points)
        self.varying = varying
        self.sweep_data = sweep_data
        self.objectives = objectives
        self.ended: list[tuple[Job, Outcome]] = []

    def skip(self, finished: list[list[str]], first_free: int) -> None:
        """Resume: drop the points that already have a finished trial; number the rest from `first_free`."""
        done = {" ".join(point) for point in finished}
        rest = [point for _, point in self.pending if " ".join(point) not in done]
        start = max(first_free, 0)
        self.pending = list(enumerate(rest, start))
        self.next_number = start + len(rest)

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

    def abandon(self, job: Job, reason: str) -> None:
        self.ended.append((job, Outcome("LOST", error=reason, infrastructure=True)))

    def best(self, direction: str) -> list[dict[str, Any]]:
        scored = [(job, outcome) for job, outcome in self.ended if outcome.state == COMPLETE and outcome.values]
        if not scored:
            return []
        pick = max if direction == "maximize" else min
        job, outcome = pick(scored, key=lambda pair: pair[1].values[0])
        return [{"trial": job.context.number, **dict(zip(self.objectives, outcome.values)), **_as_params(job.context.varying)}]

    def _job(self, number: int, point: list[str], tags: dict[str, str]) -> Job:
        varying = [text for text in point if bare_key(text.split("=", 1)[0]) in self.varying]
        # sweep_point lets a tracker tell which points have a finished trial when the sweep resumes.
        tags = {**tags, "sweep_point": mask_secrets(" ".join(point))}
        context = JobContext(
            number=number, overrides=list(point), varying=varying, sweep=self.sweep_data, tags=tags, objectives=self.objectives
        )
        return Job(overrides=list(point), idx=number, context=context)


def sweep_key(label: str, points: list[list[str]]) -> str:
    """The same for every run of the same grid command, whatever order its points came in."""
    text = json.dumps([label, sorted(mask_secrets(" ".join(point)) for point in points)])
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _as_params(overrides: list[str]) -> dict[str, str]:
    return dict(text.split("=", 1) for text in overrides)
