"""What happens when a trial ends, when time runs out and when a signal arrives: pure decisions.

Nothing here runs a trial, prints or talks to a store: each function takes an outcome, the
tally so far and the rules, and returns a `Decision` (run the trial again? stop the sweep,
with which status, exit code and message?). The loop (loop.py) applies decisions; the unit
tests check every rule with plain values. The rules:

- `timeout`: no trial is started after that many seconds; running ones finish.
- `max_failure_rate`: once at least 5 trials ended, the share that failed by themselves may not
  pass it (lost trials and infrastructure failures are not counted); else no new trial starts
  and the sweep ends non-zero.
- lost trials (their worker died) run again with the same parameters, up to the launcher's
  `max_retries`; a failure outside the trial (a broken store) stops the sweep.
- a trial whose results cannot be read the way the settings say (objectives it did not return)
  stops the sweep with exit code 2: every other trial would fail alike.
- a signal stops the sweep: running trials are cancelled and rerun on resume, exit 128 + signal.
- a sweep in which every trial that ended by itself failed ends FAILED.
"""

from __future__ import annotations

import enum
import signal
from dataclasses import dataclass, field

from hydra_plugins.seqsweep_plugins.engine.errors import first_sentence
from hydra_plugins.seqsweep_plugins.engine.outcome import Outcome, TrialState

MIN_ENDED_FOR_FAILURE_RATE = 5


class SweepStatus(enum.Enum):
    FINISHED = "FINISHED"
    FAILED = "FAILED"  # stopped by a failure rule
    KILLED = "KILLED"  # stopped by a signal


@dataclass(frozen=True)
class Rules:
    timeout: float | None = None
    max_failure_rate: float | None = None
    max_retries: int = 0


@dataclass(frozen=True)
class Stop:
    """No new trial starts. `status`/`exit_code`/`message` replace the sweep's when set;
    `announce` is printed when the stop is decided."""

    status: SweepStatus | None = None
    exit_code: int | None = None
    message: str | None = None
    announce: str | None = None


@dataclass(frozen=True)
class Decision:
    rerun: bool = False
    stop: Stop | None = None


@dataclass
class Tally:
    """The sweep so far: trials ended per state, reruns per original trial, and how it stands."""

    counts: dict[TrialState, int] = field(default_factory=lambda: dict.fromkeys(TrialState, 0))
    reruns: dict[int, int] = field(default_factory=dict)
    stopping: bool = False
    status: SweepStatus = SweepStatus.FINISHED
    exit_code: int = 0
    message: str | None = None

    @property
    def ended_by_themselves(self) -> int:
        return sum(n for state, n in self.counts.items() if state.counted)

    def record(self, outcome: Outcome, origin: int, decision: Decision) -> None:
        self.counts[outcome.state] += 1
        if decision.rerun:
            self.reruns[origin] = self.reruns.get(origin, 0) + 1
        if decision.stop is not None:
            self.apply(decision.stop)

    def apply(self, stop: Stop) -> None:
        self.stopping = True
        if stop.status is not None:
            self.status = stop.status
        if stop.exit_code is not None:
            self.exit_code = stop.exit_code
        if stop.message is not None:
            self.message = stop.message


def trial_ended(outcome: Outcome, number: int, origin: int, tally: Tally, rules: Rules) -> Decision:
    """What the end of trial `number` (a rerun of trial `origin`, or `origin` itself) decides,
    given the tally before it."""
    if outcome.state is TrialState.LOST:
        return _lost(outcome, number, origin, tally, rules)
    if tally.stopping:
        return Decision()
    if outcome.settings_error:
        return Decision(stop=Stop(SweepStatus.FAILED, 2, outcome.error))
    if outcome.infrastructure:
        message = f"trial #{number} failed outside the trial itself ({outcome.error}); no new trial is started"
        return Decision(stop=Stop(SweepStatus.FAILED, 1, message, announce=message))
    return Decision(stop=_failure_rate_stop(tally, outcome.state, rules.max_failure_rate))


def _lost(outcome: Outcome, number: int, origin: int, tally: Tally, rules: Rules) -> Decision:
    if not tally.stopping and tally.reruns.get(origin, 0) < rules.max_retries:
        return Decision(rerun=True)
    message = f"trial #{number} was lost ({outcome.error}) and not recovered by reruns"
    if tally.stopping:
        return Decision(stop=Stop(exit_code=1, message=message))
    # Lost trials are not counted: a cause that loses every trial would otherwise start new
    # ones forever (an Optuna budget never fills).
    return Decision(stop=Stop(SweepStatus.FAILED, 1, message, announce=f"{message}; no new trial is started"))


def _failure_rate_stop(tally: Tally, state: TrialState, limit: float | None) -> Stop | None:
    if limit is None:
        return None
    failed = tally.counts[TrialState.FAIL] + (state is TrialState.FAIL)
    ended = tally.ended_by_themselves + 1
    if ended < MIN_ENDED_FOR_FAILURE_RATE or failed / ended <= limit:
        return None
    message = f"{failed} of {ended} trials failed, more than hydra.sweeper.max_failure_rate={limit:g}; no new trial is started"
    return Stop(SweepStatus.FAILED, 1, message, announce=message)


def may_start(elapsed: float, rules: Rules) -> Stop | None:
    """None while a new trial may start; else the stop the time budget decides."""
    if rules.timeout is None or elapsed <= rules.timeout:
        return None
    return Stop(announce=f"time budget of {rules.timeout:g} s reached: no new trial; running ones finish")


def rerun_notice(number: int, error: str | None, rerun_number: int) -> str:
    return f"trial #{number} lost ({first_sentence(error)}); running it again as trial #{rerun_number}"


def interrupted(signum: int, trials_started: bool = True) -> Stop:
    """A signal stops the sweep; `trials_started`: False when it came before the sweep was recorded."""
    name = signal.Signals(signum).name
    if not trials_started:
        return Stop(SweepStatus.KILLED, 128 + int(signum), f"stopped by {name} before any trial started; nothing was recorded")
    return Stop(
        SweepStatus.KILLED, 128 + int(signum), f"stopped by {name}; running trials were cancelled (they run again on resume)"
    )


def cancelled_reason(signum: int) -> str:
    return f"the sweep was stopped by {signal.Signals(signum).name}"


def at_end(tally: Tally) -> Stop | None:
    """A sweep that would exit 0 although every trial that ended by itself failed ends FAILED."""
    failed = tally.counts[TrialState.FAIL]
    if tally.exit_code == 0 and tally.ended_by_themselves and failed == tally.ended_by_themselves:
        return Stop(SweepStatus.FAILED, 1, f"every trial failed ({failed})")
    return None
