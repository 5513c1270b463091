"""The loop both sweepers share: keep the executor's slots busy, record each trial as it ends.

No batches: as soon as a trial ends it is recorded, told to the tracker and printed, and the
next one is submitted. The loop also owns the sweep-wide rules:

- `timeout`: no trial is started after that many seconds; running ones finish.
- `max_failure_rate`: once at least 5 trials ended, the share that failed by themselves may not
  pass it (lost trials and infrastructure failures are not counted); else no new trial starts
  and the sweep ends non-zero.
- lost trials (their worker died) are run again with the same parameters, up to the launcher's
  `max_retries`; a failure outside the trial (a broken store) stops the sweep.
- SIGTERM, SIGHUP and SIGINT stop it in order: running trials cancelled and recorded as
  infrastructure failures (rerun on resume), the tracker told, exit code 128 + signal.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from hydra_plugins.seqsweep_plugins._console import Progress, clock, first_sentence, say, short_settings
from hydra_plugins.seqsweep_plugins._outcome import COMPLETE, FAIL, LOST, PRUNED, Outcome, read_outcome
from hydra_plugins.seqsweep_plugins.executor import Job, TrialExecutor
from hydra_plugins.seqsweep_plugins.hooks import SweepTracker, TrialEnd

MIN_ENDED_FOR_FAILURE_RATE = 5


class SweepInterrupted(KeyboardInterrupt):
    """A signal asked the sweep to stop. A KeyboardInterrupt, so a running in-process job (and the
    app's own clean-up, which treats Ctrl-C as KILLED) stops the same way as on Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


class TrialSource(Protocol):
    """Where the loop gets trials from (a grid, an Optuna study) and where it records them."""

    def next_job(self) -> Job | None:
        """The next trial to run, or None when the budget is reached or nothing is left."""
        ...

    def record(self, job: Job, outcome: Outcome) -> None: ...

    def rerun(self, job: Job) -> Job:
        """A new trial with the parameters of `job`, whose worker died; it names the trial it repeats."""
        ...

    def abandon(self, job: Job, reason: str) -> None:
        """The job was cancelled (the sweep stops): record its trial as an infrastructure failure."""
        ...


@dataclass
class LoopResult:
    counts: dict[str, int] = field(default_factory=lambda: {COMPLETE: 0, PRUNED: 0, FAIL: 0, LOST: 0})
    status: str = "FINISHED"  # FINISHED, FAILED or KILLED
    message: str | None = None
    exit_code: int = 0
    seconds: float = 0.0


@dataclass
class LoopRules:
    objective: str
    direction: str
    total: int | None
    timeout: float | None = None
    max_failure_rate: float | None = None
    max_retries: int = 0
    need_values: bool = True
    # Added to every job's overrides (e.g. the sweep folder when two sweeps started in the same second).
    job_overrides: list[str] = field(default_factory=list)


def run_trials(
    source: TrialSource, executor: TrialExecutor, tracker: SweepTracker, rules: LoopRules, objectives: list[str]
) -> LoopResult:
    """Run trials until the source has none left, a rule stops the sweep or a signal arrives."""
    result = LoopResult()
    progress = Progress(rules.total, rules.objective, rules.direction, executor.slots)
    started = time.monotonic()
    submitted_at: dict[int, float] = {}
    attempts: dict[int, int] = {}
    stop_reason: str | None = None
    nodes = NodeVersions()
    try:
        with _signals_raise():
            while True:
                while stop_reason is None and executor.in_flight() < executor.slots:
                    if rules.timeout is not None and time.monotonic() - started > rules.timeout:
                        say(f"time budget of {rules.timeout:g} s reached: no new trial; running ones finish")
                        stop_reason = "timeout"
                        break
                    job = source.next_job()
                    if job is None:
                        break
                    _submit(executor, tracker, job, submitted_at, rules.job_overrides)
                if executor.in_flight() == 0:
                    break
                for end in executor.wait(timeout=5.0):
                    job = end.job
                    nodes.check(end.node_info)
                    outcome = read_outcome(end, objectives, rules.need_values)
                    seconds = time.monotonic() - submitted_at.pop(id(job), time.monotonic())
                    source.record(job, outcome)
                    result.counts[outcome.state] += 1
                    if outcome.state == LOST:
                        tracker.on_trial_lost(job.context, outcome.error or "lost")
                    else:
                        tracker.on_trial_end(
                            TrialEnd(
                                job.context, outcome.state, outcome.values, outcome.metrics, outcome.error, seconds, end.node
                            )
                        )
                    value = outcome.values[0] if outcome.values else None
                    note = f"({first_sentence(outcome.error)})" if outcome.error and outcome.state != COMPLETE else ""
                    line = progress.line(job.context.varying, outcome.state, value, seconds, note, outcome.state != LOST)
                    print(line, flush=True)
                    if outcome.state == LOST:
                        tries = attempts.get(_origin(job), 0)
                        if tries < rules.max_retries and stop_reason is None:
                            attempts[_origin(job)] = tries + 1
                            rerun = source.rerun(job)
                            say(
                                f"trial #{job.context.number} lost ({first_sentence(outcome.error)}); "
                                f"running it again as trial #{rerun.context.number}"
                            )
                            _submit(executor, tracker, rerun, submitted_at, rules.job_overrides)
                        else:
                            result.message = (
                                f"trial #{job.context.number} was lost ({outcome.error}) and not recovered by reruns"
                            )
                            result.exit_code = 1
                            if stop_reason is None:
                                # Lost trials are not counted: a cause that loses every trial would
                                # otherwise start new ones forever (an Optuna budget never fills).
                                stop_reason = "lost"
                                result.status = "FAILED"
                                say(f"{result.message}; no new trial is started")
                    elif outcome.settings_error and stop_reason is None:
                        stop_reason = "settings"
                        result.status, result.exit_code, result.message = "FAILED", 2, outcome.error
                    elif outcome.infrastructure and stop_reason is None:
                        stop_reason = "infrastructure"
                        result.status, result.exit_code = "FAILED", 1
                        result.message = f"trial #{job.context.number} failed outside the trial itself ({outcome.error}); no new trial is started"
                        say(result.message)
                    if stop_reason is None and _failure_rate_exceeded(result.counts, rules.max_failure_rate):
                        stop_reason = "failure rate"
                        ended = result.counts[COMPLETE] + result.counts[PRUNED] + result.counts[FAIL]
                        result.status, result.exit_code = "FAILED", 1
                        result.message = (
                            f"{result.counts[FAIL]} of {ended} trials failed, more than hydra.sweeper.max_failure_rate="
                            f"{rules.max_failure_rate:g}; no new trial is started"
                        )
                        say(result.message)
    except KeyboardInterrupt as interrupt:
        signum = interrupt.signum if isinstance(interrupt, SweepInterrupted) else signal.SIGINT
        for job in executor.cancel_all():
            reason = f"the sweep was stopped by {signal.Signals(signum).name}"
            source.abandon(job, reason)
            tracker.on_trial_lost(job.context, reason)
        result.status, result.exit_code = "KILLED", 128 + int(signum)
        result.message = f"stopped by {signal.Signals(signum).name}; running trials were cancelled (they run again on resume)"
    result.seconds = time.monotonic() - started
    ended_by_themselves = result.counts[COMPLETE] + result.counts[PRUNED] + result.counts[FAIL]
    if result.exit_code == 0 and ended_by_themselves and not (result.counts[COMPLETE] + result.counts[PRUNED]):
        result.status, result.exit_code = "FAILED", 1
        result.message = f"every trial failed ({result.counts[FAIL]})"
    return result


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


def _submit(
    executor: TrialExecutor, tracker: SweepTracker, job: Job, submitted_at: dict[int, float], job_overrides: list[str]
) -> None:
    job.overrides = [*job.overrides, *job_overrides]
    tracker.on_trial_submitted(job.context)
    say(f"trial #{job.context.number} starts: {short_settings(job.context.varying)}")
    submitted_at[id(job)] = time.monotonic()
    executor.submit(job)


def _origin(job: Job) -> int:
    return int(job.context.tags.get("retry_of", job.context.number))


def _failure_rate_exceeded(counts: dict[str, int], limit: float | None) -> bool:
    if limit is None:
        return False
    ended = counts[COMPLETE] + counts[PRUNED] + counts[FAIL]
    return ended >= MIN_ENDED_FOR_FAILURE_RATE and counts[FAIL] / ended > limit


@contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP raise SweepInterrupted in the main thread, as Ctrl-C raises KeyboardInterrupt."""

    def handler(signum: int, frame: Any) -> None:
        raise SweepInterrupted(signum)

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            previous[signum] = signal.signal(signum, handler)
        except ValueError:  # not the main thread: leave signals alone
            pass
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def finish(result: LoopResult) -> None:
    """Print the sweep's closing lines (how many trials ended how, then the error, if any, last)
    and exit non-zero when it did not end well."""
    if result.message and not result.exit_code:
        say(result.message)
    say(closing_summary(result))
    if result.exit_code:
        print(f"error: {result.message}", file=sys.stderr, flush=True)
        sys.exit(result.exit_code)


def closing_summary(result: LoopResult) -> str:
    """`sweep FINISHED in 0:04: 2 trial(s): 1 complete, 1 failed` (failed: by themselves or not;
    lost: their worker died), so a sweep that exits 0 still says how many trials failed."""
    names = {COMPLETE: "complete", PRUNED: "pruned", FAIL: "failed", LOST: "lost"}
    counts = ", ".join(f"{n} {names[state]}" for state, n in result.counts.items() if n) or "none ended"
    return f"sweep {result.status} in {clock(result.seconds)}: {sum(result.counts.values())} trial(s): {counts}"
