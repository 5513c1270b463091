"""The sweep, step by step, once for both sweepers (a template method); they supply what differs.

    check the settings -> plan -> announce what runs (not in a dry run) -> check every point
    [dry run: load the tracker, print the plan, stop] -> executor -> load the tracker -> open the stores
    -> sweep folder -> header (study, folder) -> tracker: sweep start -> trials (TrialLoop) -> after the trials (refit) -> best
    -> tracker: sweep end -> exit code

Every step up to the stores refuses a mistake with one line and exit code 2, before any study
row, tracker record or sweep folder exists; a dry run ends before any of them too.
"""

from __future__ import annotations

import abc
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, ListConfig, OmegaConf

from hydra_plugins.seqsweep_plugins.engine import lifecycle
from hydra_plugins.seqsweep_plugins.engine.best_rule import BestRule
from hydra_plugins.seqsweep_plugins.engine.compositions import RecentCompositions
from hydra_plugins.seqsweep_plugins.engine.console import closing_summary, say
from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError, PointRefused, SweepRefused, first_line, refuse
from hydra_plugins.seqsweep_plugins.engine.executor import TrialExecutor, executor_for
from hydra_plugins.seqsweep_plugins.engine.lifecycle import Rules
from hydra_plugins.seqsweep_plugins.engine.loop import (
    Display,
    LoopResult,
    SignalLatch,
    SweepInterrupted,
    TrialLoop,
    TrialSource,
    outcome_reader,
    signals_caught,
)
from hydra_plugins.seqsweep_plugins.engine.points import PointComposer, load_point_check
from hydra_plugins.seqsweep_plugins.engine.secrets import mask_values
from hydra_plugins.seqsweep_plugins.engine.tracker import SweepEnd, SweepStart, SweepTracker, load_tracker

DIRECTIONS = ("maximize", "minimize")


@dataclass
class SweepPlan:
    """What a sweep will run, once every point was checked."""

    varying: list[str]  # keys whose value differs between trials
    fixed: list[str]  # overrides every trial shares
    details: dict[str, Any] = field(default_factory=dict)  # the sweeper's own (points, search space, ...)


class SweepTemplate(Sweeper, abc.ABC):
    """Setup, common settings and the sweep's steps; subclasses fill in the abstract steps."""

    # The sweeper's name in records ("grid", "optuna"), and whether a trial without readable
    # objective values is a failure (Optuna must tell the study a value; a grid need not).
    kind: str = ""
    need_values: bool = True

    def __init__(
        self,
        point_check: Any = None,
        tracker: Any = None,
        objectives: Any = None,
        direction: Any = "maximize",
        timeout: float | None = None,
        max_failure_rate: float | None = None,
        dry_run: bool = False,
        best_among: Any = None,
        warm_imports: Any = (),
    ) -> None:
        self.point_check_setting = point_check
        self.warm_imports = as_list(warm_imports) if warm_imports else []
        self.best_among_setting = best_among
        self.best_rule = BestRule()
        self.tracker_setting = tracker
        self.directions = [str(getattr(d, "name", d)) for d in as_list(direction)]
        # Unnamed objectives (an app that returns a float or a list of floats) are called value, value_0, ...
        self.objectives = (
            as_list(objectives)
            if objectives is not None
            else (["value"] if len(self.directions) == 1 else [f"value_{i}" for i in range(len(self.directions))])
        )
        self.timeout = timeout
        self.max_failure_rate = max_failure_rate
        self.dry_run = dry_run
        self.job_overrides: list[str] = []

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        # The launcher composes each job with the same loader: a point just checked is not composed again.
        self.hydra_context = HydraContext(RecentCompositions(hydra_context.config_loader), hydra_context.callbacks)
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=self.hydra_context, task_function=task_function
        )

    # -- the steps, in order ------------------------------------------------------------------

    def sweep(self, arguments: list[str]) -> list[Any]:
        """The steps in order. A signal at any moment (Ctrl-C, SIGTERM, SIGHUP) stops the sweep in
        order with exit code 128 + signal: before the tracker's sweep start nothing is recorded;
        after it the sweep and its running trials are recorded KILLED; while the tracker records the
        sweep's start or end, the signal waits until it has (a half-made record would stay RUNNING)."""
        self.latch = SignalLatch()
        self.tracker_started = False
        self.executor: TrialExecutor | None = None
        self.result: LoopResult | None = None
        with signals_caught(self.latch):
            try:
                try:
                    return self._sweep(arguments)
                except Exception as error:
                    # A signal that a library turned into its own error is still the signal.
                    self.latch.raise_if_caught()
                    if not getattr(error, "infrastructure", False):
                        raise
                    # A store that stopped answering (the study's database past its outage limit): the
                    # trials in flight were cancelled; what they and the sweep left RUNNING, the same
                    # command recovers when it resumes.
                    refuse(error, code=1)
            except KeyboardInterrupt as interrupt:
                raised = interrupt.signum if isinstance(interrupt, SweepInterrupted) else signal.SIGINT
                signum = self.latch.signum or raised
                try:
                    self._stopped(signum)
                except KeyboardInterrupt:
                    print(
                        f"error: stopped by {signal.Signals(signum).name} twice: the clean-up was cut short "
                        "(the same command closes what it left RUNNING)",
                        file=sys.stderr,
                        flush=True,
                    )
                    sys.exit(128 + signum)

    def _sweep(self, arguments: list[str]) -> list[Any]:
        plan = self._check(arguments)
        if self.dry_run:
            self.tracker = self._load_tracker()
            for line in self.describe(plan):
                say(line)
            say("dry run: every point was checked; nothing was trained and no study, run or sweep folder was created")
            return []
        # The executor first: workers in other processes start importing the trial's modules
        # (warm_imports) while this process imports the tracker's client and opens the stores.
        self.executor = self._open_executor()
        try:
            self.tracker = self._load_tracker()
            self._open_stores(plan)
            self.sweep_dir = self.save_sweep_config()
            say(self.header(plan, self.sweep_dir))
            sweep_data = self._start_tracker(self.sweep_start(plan, self.sweep_dir))
            source = self.source(plan, sweep_data)
            rules = Rules(self.timeout, self.max_failure_rate, self.executor.max_retries)
            display = Display(self.objectives[0], self.directions[0], self.planned_trials(source), self.best_rule)
            loop = TrialLoop(
                source,
                self.executor,
                self.tracker,
                rules,
                display,
                outcome_reader(self.objectives, self.need_values),
                self.job_overrides,
                self.latch,
            )
            with self.while_running(source):
                self.result = loop.run()
                self.after_trials(self.result, source, loop)
        except KeyboardInterrupt:
            raise  # _stopped cancels what is still in flight (a refit) before it closes the executor
        except BaseException:
            self.executor.close()
            raise
        self.executor.close()
        result = self.result
        with self.latch.held():
            best, no_best = self.best(source)
            counts, tally = dict(result.tally.counts), result.tally
            self.tracker.on_sweep_end(
                SweepEnd(tally.status, counts, best, self.objectives, self.directions, result.seconds, tally.message, no_best)
            )
        if self.latch.signum is not None and not tally.exit_code:
            tally.exit_code = 128 + self.latch.signum
            name = signal.Signals(self.latch.signum).name
            tally.message = f"stopped by {name} after the last trial ended; the sweep's end is recorded"
        _finish(result)
        return source.ended

    def _stopped(self, signum: int) -> None:
        """A signal outside the trial loop (the loop stops its own trials): cancel what is in flight
        (a refit), record the sweep's end when the tracker knows the sweep, exit 128 + signal."""
        with self.latch.held():
            result = self.result or LoopResult()
            if result.tally.exit_code == 0:
                result.tally.apply(lifecycle.interrupted(signum, trials_started=self.tracker_started))
            if self.executor is not None:
                reason = lifecycle.cancelled_reason(signum)
                for job in self.executor.cancel_all():
                    if self.tracker_started:
                        self.tracker.on_trial_lost(job.context, reason, interrupted=True)
                self.executor.close()
            if self.tracker_started:
                tally = result.tally
                self.tracker.on_sweep_end(
                    SweepEnd(
                        tally.status, dict(tally.counts), [], self.objectives, self.directions, result.seconds, tally.message
                    )
                )
        _finish(result)

    def _check(self, arguments: list[str]) -> SweepPlan:
        """The settings and every point, before anything leaves a trace: a mistake is one line, exit code 2."""
        try:
            self.check_settings()
            plan = self.plan(arguments)
            if not self.dry_run:
                # The first line, within about a second: composing every point takes ~0.2 s each.
                say(self.announce(plan))
            self.composer = PointComposer(self.hydra_context, self.config, load_point_check(self.point_check_setting))
            self.check_points(plan, self.composer)
            return plan
        except (ConfigError, PointRefused) as error:
            self._refuse(first_line(error))

    def _refuse(self, message: str, code: int = 2) -> NoReturn:
        """`refuse`, unless a signal came first: a library may have turned it into this error
        (OmegaConf raising in a `finally` while the interrupt unwound), and the signal wins."""
        self.latch.raise_if_caught()
        refuse(message, code)

    def _load_tracker(self) -> SweepTracker:
        """After the points: an app's tracker may import a heavy client (MLflow: 2 s), which a
        mistyped point or the sweep's first line need not wait for."""
        try:
            tracker = load_tracker(self.tracker_setting)
            self.check_tracker(tracker)
        except ConfigError as error:
            self._refuse(first_line(error))
        return tracker

    def _open_executor(self) -> TrialExecutor:
        """The executor may still refuse a launcher setting (more CPUs per trial than a node has)."""
        try:
            return executor_for(self.launcher, self.max_slots(), self.warm_imports)
        except (ConfigError, PointRefused) as error:
            self._refuse(first_line(error))

    def _open_stores(self, plan: SweepPlan) -> None:
        """The stores may still refuse a storage setting, before any trial."""
        try:
            self.open_stores(plan)
        except (ConfigError, PointRefused) as error:
            self._refuse(first_line(error))

    def _start_tracker(self, start: SweepStart) -> dict[str, Any]:
        try:
            # Set first: a signal during the start may leave a record the end must close.
            self.tracker_started = True
            # Held: interrupted half-way, the tracker may have created its record without knowing
            # it (its end could not close it), or a library may turn the interrupt into an error.
            with self.latch.held():
                sweep_data = self.tracker.on_sweep_start(start) or {}
        except (ConfigError, SweepRefused) as error:
            self._refuse(first_line(error))
        except Exception as error:  # noqa: BLE001 - e.g. a store the tracker cannot write: one line, no trial started
            self._refuse(first_line(error) if str(error).strip() else type(error).__name__, code=1)
        self.latch.raise_if_caught()
        return sweep_data

    # -- what each sweeper supplies ------------------------------------------------------------

    @abc.abstractmethod
    def plan(self, arguments: list[str]) -> SweepPlan:
        """Parse the search space: the points, or the distributions (raise ConfigError)."""

    @abc.abstractmethod
    def check_points(self, plan: SweepPlan, composer: PointComposer) -> None:
        """Compose and check every point (a grid) or the search space's edges (raise PointRefused)."""

    def check_tracker(self, tracker: SweepTracker) -> None:
        """Refuse settings the sweep's tracker cannot serve (raise ConfigError); by default none."""

    @abc.abstractmethod
    def describe(self, plan: SweepPlan) -> list[str]:
        """What a dry run prints: the points (a grid), or the search space and budget (a study)."""

    @abc.abstractmethod
    def announce(self, plan: SweepPlan) -> str:
        """The sweep's first line, once every point is checked: what will run."""

    @abc.abstractmethod
    def header(self, plan: SweepPlan, sweep_dir: Path) -> str:
        """The line once the stores are open: where the sweep is kept (its study, its folder)."""

    @abc.abstractmethod
    def source(self, plan: SweepPlan, sweep_data: dict[str, Any]) -> TrialSource: ...

    @abc.abstractmethod
    def planned_trials(self, source: TrialSource) -> int | None: ...

    @abc.abstractmethod
    def best(self, source: TrialSource) -> tuple[list[dict[str, Any]], str | None]:
        """The best trial, or the Pareto front (one row each: trial, objective values, what they were
        measured on, params), among the trials `self.best_rule` allows; printed or written as the
        sweeper does. No row when none qualifies, and why."""

    def max_slots(self) -> int | None:
        return None

    def open_stores(self, plan: SweepPlan) -> None:
        """Create or load what the sweep records into (the Optuna study); may still refuse."""

    def sweep_start(self, plan: SweepPlan, sweep_dir: Path) -> SweepStart:
        return SweepStart(
            sweeper=self.kind,
            label=self.label(),
            config=self.config,
            sweep_dir=str(sweep_dir),
            total=None,
            varying=plan.varying,
            fixed=plan.fixed,
            objectives=self.objectives,
            directions=self.directions,
        )

    @contextlib.contextmanager
    def while_running(self, source: TrialSource) -> Iterator[None]:
        """Held while trials run (the Optuna study's heartbeats)."""
        yield

    def after_trials(self, result: LoopResult, source: TrialSource, loop: TrialLoop) -> None:
        """Work after the search (the Optuna sweeper's refit of the best configuration)."""

    # -- shared helpers -------------------------------------------------------------------------

    def check_settings(self) -> None:
        """The settings both sweepers have; raises ConfigError naming the key."""
        if len(self.objectives) != len(self.directions):
            raise ConfigError(
                "hydra.sweeper.direction",
                f"[{', '.join(self.directions)}]",
                f"one direction per objective; hydra.sweeper.objectives has {len(self.objectives)}: [{', '.join(self.objectives)}]",
            )
        if not self.objectives:
            raise ConfigError(
                "hydra.sweeper.objectives", "[]", "one or more metric names, e.g. [val_acc] or [val_acc, fit_seconds]"
            )
        for direction in self.directions:
            if direction not in DIRECTIONS:
                raise ConfigError("hydra.sweeper.direction", direction, "maximize or minimize, or a list of them")
        if self.timeout is not None and not _positive_number(self.timeout):
            raise ConfigError("hydra.sweeper.timeout", self.timeout, "null or a number of seconds > 0")
        rate = self.max_failure_rate
        if rate is not None and (not _number(rate) or not 0 <= rate <= 1):
            raise ConfigError("hydra.sweeper.max_failure_rate", rate, "null (off) or a share of ended trials in [0, 1]")
        self.best_rule = BestRule.from_setting(self.best_among_setting)

    def label(self) -> str:
        """The preset's name (+sweeps=NAME), else the app's job name."""
        return str(
            OmegaConf.select(self.config, "hydra.runtime.choices.sweeps")
            or OmegaConf.select(self.config, "hydra.job.name")
            or "sweep"
        )

    def save_sweep_config(self) -> Path:
        """The sweep folder with its multirun.yaml (as Hydra's basic sweeper writes it, passwords masked).

        Two sweeps started in the same second would share `multirun/<date>/<time>`: the first to
        claim the folder (an exclusive create of `.sweep_owner`) keeps it, a later one takes
        `<time>-2`, `<time>-3`, ... and every job of that sweep follows it there."""
        base = Path(str(self.config.hydra.sweep.dir))
        sweep_dir, suffix = base, 1
        while True:
            sweep_dir.mkdir(parents=True, exist_ok=True)
            try:
                with open(sweep_dir / ".sweep_owner", "x") as owner:
                    owner.write(f"{socket.gethostname()}:{os.getpid()}\n")
                break
            except FileExistsError:
                suffix += 1
                sweep_dir = base.with_name(f"{base.name}-{suffix}")
        # Jobs compose their config anew from the command line, so they learn the folder from an override.
        self.job_overrides = [] if sweep_dir == base else [f"hydra.sweep.dir={sweep_dir}"]
        self.composer.job_overrides = self.job_overrides
        masked = mask_values(OmegaConf.to_container(self.config, resolve=False))
        OmegaConf.save(OmegaConf.create(masked), sweep_dir / "multirun.yaml")
        return sweep_dir


def _finish(result: LoopResult) -> None:
    """Print the sweep's closing lines (how many trials ended how, then the error, if any, last)
    and exit non-zero when it did not end well."""
    tally = result.tally
    if tally.message and not tally.exit_code:
        say(tally.message)
    say(closing_summary(tally.status.value, result.seconds, tally.counts))
    if tally.exit_code:
        print(f"error: {tally.message}", file=sys.stderr, flush=True)
        sys.exit(tally.exit_code)


def as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, ListConfig)):
        return [str(v) for v in value]
    return [str(value)]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positive_number(value: Any) -> bool:
    return _number(value) and value > 0
