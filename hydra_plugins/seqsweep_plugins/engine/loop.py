"""The loop both sweepers share: keep the executor's slots busy, record each trial as it ends.

No batches: as soon as a trial ends it is recorded, told to the tracker and printed, and the
next one is submitted. What each end means (rerun, stop, exit code) is decided in lifecycle.py;
this module only carries the decisions out. SIGTERM and SIGHUP stop the sweep as Ctrl-C does,
and a signal wins over whatever the trial it interrupted came back with (SignalLatch).
"""

from __future__ import annotations

import _thread
import functools
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from hydra_plugins.seqsweep_plugins.engine import lifecycle
from hydra_plugins.seqsweep_plugins.engine.best_rule import BestRule
from hydra_plugins.seqsweep_plugins.engine.console import Progress, say, short_settings
from hydra_plugins.seqsweep_plugins.engine.errors import first_sentence
from hydra_plugins.seqsweep_plugins.engine.executor import Job, JobEnd, TrialExecutor
from hydra_plugins.seqsweep_plugins.engine.lifecycle import Rules, Stop, Tally
from hydra_plugins.seqsweep_plugins.engine.outcome import Outcome, TrialState, lost, read_outcome
from hydra_plugins.seqsweep_plugins.engine.tracker import SweepTracker, TrialEnd

WAIT_SECONDS = 5.0
# How long after Python swallowed our interrupt in a finaliser it is raised again.
RESEND_AFTER_S = 0.01
# Code a signal waits out (SignalLatch._must_not_raise_in): the database drivers and MLflow's stores on them.
STORE_DRIVERS = ("sqlalchemy", "sqlite3", "psycopg", "mlflow.store")


class SweepInterrupted(KeyboardInterrupt):
    """A signal asked the sweep to stop. A KeyboardInterrupt, so a running in-process job (and the
    app's own clean-up, which treats Ctrl-C as KILLED) stops the same way as on Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


class SignalLatch:
    """The first signal that asked the sweep to stop, kept before anything else runs.

    A signal raises in whatever code the main thread is in, and a library there may catch the
    KeyboardInterrupt and raise its own error instead: Keras wraps what a layer's `call` raises,
    TensorFlow can lose it in native code and fail on a half-built tensor. The trial would come
    back as its own FAIL and the sweep would go on. With the signal kept here the loop knows:
    a trial that failed after it was interrupted, not failed, and the sweep stops.

    Python itself swallows an exception raised in a finaliser (`__del__`, a weakref callback:
    TensorFlow frees tensors in them all the time), printing "Exception ignored in" with a
    traceback, and the trial would run on to its end. `swallowed` raises the signal again in
    the main thread's next step (`signals_caught` installs it as Python's unraisable hook).
    A signal that finds the main thread inside a database driver's call waits the same way
    until the call is done (see `_must_not_raise_in`).
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.holding = False
        self._raising_again = False

    def catch(self, signum: int, frame: Any = None) -> None:
        """The signal handler. The first signal is kept and raised, unless held (the sweep then
        stops in order once the held block ends); a second one raises whatever is running: the
        user insists, so the clean-up is cut short (the next command closes what it left)."""
        if self._raising_again:
            self._raising_again = False  # the first signal once more, not a second one
        elif self.signum is not None:
            raise SweepInterrupted(signum)
        self.signum = signum
        if self.holding:
            return
        if self._must_not_raise_in(frame):
            self._raise_again_soon()
            return
        raise SweepInterrupted(signum)

    def swallowed(self, unraisable: Any, others: Callable[[Any], None]) -> None:
        """Python's unraisable hook: our interrupt lost in a finaliser is raised again, silently;
        anything else goes to the hook that was there before (`others`)."""
        if not isinstance(unraisable.exc_value, SweepInterrupted) or self.signum is None:
            others(unraisable)
            return
        self._raise_again_soon()

    def _raise_again_soon(self) -> None:
        self._raising_again = True
        # Sent a moment later from another thread: sent now, the main thread would take it
        # before leaving this hook (or the driver's call). If it lands there again, `catch`
        # sends it again instead of raising.
        resend = threading.Timer(RESEND_AFTER_S, _thread.interrupt_main, args=(self.signum,))
        resend.daemon = True
        resend.start()

    def _must_not_raise_in(self, frame: Any) -> bool:
        """Whether the main thread is in this hook (where a raise is swallowed once more) or in a
        database driver's call: an interrupt raised between a driver's statement and its commit
        can leave an SQLite file locked, and the sweep then cannot record its runs as KILLED."""
        hook = (self.swallowed.__code__, self._raise_again_soon.__code__)
        while frame is not None:
            if frame.f_code in hook or str(frame.f_globals.get("__name__", "")).startswith(STORE_DRIVERS):
                return True
            frame = frame.f_back
        return False

    @contextmanager
    def held(self) -> Iterator[None]:
        """A signal during this block is kept, not raised: for recording that must not stop half-way."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False

    def raise_if_caught(self) -> None:
        if self.signum is not None:
            raise SweepInterrupted(self.signum)


class TrialSource(Protocol):
    """Where the loop gets trials from (a grid, an Optuna study) and where it records them."""

    def next_job(self) -> Job | None:
        """The next trial to run, or None when the budget is reached or nothing is left."""
        ...

    def record(self, job: Job, outcome: Outcome) -> Outcome | None:
        """Record a job's end; returns what it means for its trial when that differs from the
        job's own outcome (a level of a fidelity ladder: the trial goes on, or was stopped there)."""
        ...

    def rerun(self, job: Job) -> Job:
        """A new trial with the parameters of `job`, whose worker died; it names the trial it repeats."""
        ...


@dataclass
class Display:
    """What the progress lines show: the first objective, its direction and the trials planned (None: open-ended)."""

    objective: str
    direction: str
    total: int | None
    rule: BestRule = field(default_factory=BestRule)


@dataclass
class LoopResult:
    tally: Tally = field(default_factory=Tally)
    seconds: float = 0.0


class TrialLoop:
    """Runs trials until the source has none left, a rule stops the sweep or a signal arrives."""

    def __init__(
        self,
        source: TrialSource,
        executor: TrialExecutor,
        tracker: SweepTracker,
        rules: Rules,
        display: Display,
        read: Any,
        job_overrides: list[str],
        latch: SignalLatch | None = None,
    ) -> None:
        self.source, self.executor, self.tracker, self.rules = source, executor, tracker, rules
        # read(JobEnd) -> Outcome: how this sweep reads a job's return (objectives, whether values are needed).
        self.read = read
        self.job_overrides = job_overrides
        self.progress = Progress(display.total, display.objective, display.direction, display.rule)
        self.tally = Tally()
        self.nodes = NodeVersions()
        self.submitted_at: dict[int, float] = {}
        self.started = time.monotonic()
        # The sweep's, when it catches signals from its start; else the loop's own.
        self.latch = latch or SignalLatch()

    def run(self) -> LoopResult:
        with signals_caught(self.latch):
            try:
                while self._fill_slots() or self.executor.in_flight():
                    for end in self.executor.wait(timeout=WAIT_SECONDS):
                        self._ended(end)
                    self.latch.raise_if_caught()
            except KeyboardInterrupt as interrupt:
                signum = interrupt.signum if isinstance(interrupt, SweepInterrupted) else signal.SIGINT
                self._interrupted(self.latch.signum or signum)
        final = lifecycle.at_end(self.tally)
        if final is not None:
            self.tally.apply(final)
        return LoopResult(self.tally, time.monotonic() - self.started)

    def submit(self, job: Job) -> None:
        job.overrides = [*job.overrides, *self.job_overrides]
        job.context.rerun_if_lost = self.rules.max_retries > 0
        self.tracker.on_trial_submitted(job.context)
        if self.executor.slots > 1:  # one at a time, a trial's start is the previous one's end line
            level = f" at level {job.context.level}" if job.context.level is not None else ""
            say(f"trial #{job.context.number} starts{level}: {short_settings(job.context.varying)}")
        self.submitted_at[id(job)] = time.monotonic()
        self.executor.submit(job)

    def _fill_slots(self) -> bool:
        """Submit trials while slots are free and the rules allow; False when none is in flight."""
        while not self.tally.stopping and self.executor.in_flight() < self.executor.slots:
            stop = lifecycle.may_start(time.monotonic() - self.started, self.rules)
            if stop is not None:
                self._stop(stop)
                break
            job = self.source.next_job()
            if job is None:
                break
            self.submit(job)
        return self.executor.in_flight() > 0

    def _ended(self, end: JobEnd) -> None:
        job = end.job
        self.nodes.check(end.node_info)
        seconds = time.monotonic() - self.submitted_at.pop(id(job), time.monotonic())
        job_outcome = self.read(end)
        if self.latch.signum is not None and job_outcome.state in (TrialState.FAIL, TrialState.LOST):
            self._cancel(job, lifecycle.cancelled_reason(self.latch.signum))
            return
        outcome = self.source.record(job, job_outcome) or job_outcome
        if outcome.next_level is not None:  # a level of the trial's ladder: it goes on, nothing counted
            self._tell_tracker(end, outcome, seconds)
            self._print(job, outcome, seconds)
            return
        origin = _origin(job)
        decision = lifecycle.trial_ended(outcome, job.context.number, origin, self.tally, self.rules)
        self.tally.record(outcome, origin, decision)
        self._tell_tracker(end, outcome, seconds)
        self._print(job, outcome, seconds)
        if decision.rerun:
            rerun = self.source.rerun(job)
            say(lifecycle.rerun_notice(job.context.number, outcome.error, rerun.context.number))
            self.submit(rerun)
        if decision.stop is not None and decision.stop.announce:
            say(decision.stop.announce)

    def _tell_tracker(self, end: JobEnd, outcome: Outcome, seconds: float) -> None:
        context = end.job.context
        if outcome.state is TrialState.LOST:
            self.tracker.on_trial_lost(context, outcome.error or "lost", interrupted=False)
        else:
            self.tracker.on_trial_end(
                TrialEnd(context, outcome.state, outcome.values, outcome.metrics, outcome.error, seconds, end.node)
            )

    def _print(self, job: Job, outcome: Outcome, seconds: float) -> None:
        value = outcome.values[0] if outcome.values else None
        note = f"({first_sentence(outcome.error)})" if outcome.error and outcome.state is not TrialState.COMPLETE else ""
        evidence = self.progress.rule.evidence(outcome.metrics)
        counted = outcome.state.counted and outcome.next_level is None
        line = self.progress.line(
            job.context.varying, outcome.state, value, seconds, note, counted, evidence, outcome.level, outcome.next_level
        )
        print(line, flush=True)

    def _stop(self, stop: Stop) -> None:
        self.tally.apply(stop)
        if stop.announce:
            say(stop.announce)

    def _interrupted(self, signum: int) -> None:
        reason = lifecycle.cancelled_reason(signum)
        for job in self.executor.cancel_all():
            self._cancel(job, reason)
        self.tally.apply(lifecycle.interrupted(signum))

    def _cancel(self, job: Job, reason: str) -> None:
        """A trial the sweep's signal stopped: rerun on resume, whatever it came back with."""
        self.submitted_at.pop(id(job), None)
        self.source.record(job, lost(reason))
        self.tracker.on_trial_lost(job.context, reason, interrupted=True)


class NodeVersions:
    """Warns once per differing node when the machines running trials have other code or packages."""

    def __init__(self) -> None:
        self.first: dict[str, Any] | None = None
        self.warned: set[str] = set()

    def check(self, info: dict[str, Any] | None) -> None:
        if not info:
            return
        if self.first is None:
            self.first = info
            return
        differ = {k: (self.first.get(k), v) for k, v in info.items() if k != "host" and self.first.get(k) != v}
        host = str(info.get("host"))
        if differ and host not in self.warned:
            self.warned.add(host)
            shown = ", ".join(f"{k}: {a} here, {b} there" for k, (a, b) in differ.items())
            say(f"warning: node {host} differs from node {self.first.get('host')} ({shown})")


def outcome_reader(objectives: list[str], need_values: bool) -> Any:
    def read(end: JobEnd) -> Outcome:
        return read_outcome(end.job_return, end.lost, objectives, need_values)

    return read


def _origin(job: Job) -> int:
    return int(job.context.tags.get("retry_of", job.context.number))


@contextmanager
def signals_caught(latch: SignalLatch) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP are kept in `latch` and raise SweepInterrupted in the main thread
    (raised again where Python swallowed it in a finaliser)."""
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            previous[signum] = signal.signal(signum, latch.catch)
        except ValueError:  # not the main thread: leave signals alone
            pass
    hook = sys.unraisablehook
    if previous:
        sys.unraisablehook = functools.partial(latch.swallowed, others=hook)
    try:
        yield
    finally:
        sys.unraisablehook = hook
        for signum, old in previous.items():
            signal.signal(signum, old)
