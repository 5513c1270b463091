"""The trial lifecycle's decisions (pure functions) and the loop that carries them out, with fakes."""

from __future__ import annotations

import math
import os
import signal
import sys
import time

import pytest
from hydra.core.utils import JobReturn, JobStatus

from hydra_plugins.seqsweep_plugins.engine import lifecycle
from hydra_plugins.seqsweep_plugins.engine.executor import Job, JobEnd
from hydra_plugins.seqsweep_plugins.engine.job_context import JobContext
from hydra_plugins.seqsweep_plugins.engine.lifecycle import Decision, Rules, Stop, SweepStatus, Tally
from hydra_plugins.seqsweep_plugins.engine.loop import (
    Display,
    SignalLatch,
    SweepInterrupted,
    TrialLoop,
    outcome_reader,
    signals_caught,
)
from hydra_plugins.seqsweep_plugins.engine.outcome import Outcome, TrialState, lost, read_outcome
from hydra_plugins.seqsweep_plugins.engine.tracker import SweepTracker

COMPLETE, PRUNED, FAIL, LOST = TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.LOST


def tally(complete: int = 0, failed: int = 0, stopping: bool = False) -> Tally:
    t = Tally()
    t.counts[COMPLETE], t.counts[FAIL], t.stopping = complete, failed, stopping
    return t


# -- decisions ----------------------------------------------------------------------------------


def test_a_complete_trial_decides_nothing():
    assert lifecycle.trial_ended(Outcome(COMPLETE, values=[1.0]), 0, 0, Tally(), Rules()) == Decision()


def test_a_settings_error_stops_the_sweep_with_exit_code_2():
    decision = lifecycle.trial_ended(Outcome(FAIL, error="no val_acc", settings_error=True), 0, 0, Tally(), Rules())
    assert decision == Decision(stop=Stop(SweepStatus.FAILED, 2, "no val_acc"))


def test_a_failure_outside_the_trial_stops_the_sweep_with_exit_code_1_and_says_so():
    decision = lifecycle.trial_ended(Outcome(FAIL, error="disk full", infrastructure=True), 3, 3, Tally(), Rules())
    assert decision.stop.status is SweepStatus.FAILED and decision.stop.exit_code == 1
    assert decision.stop.announce == "trial #3 failed outside the trial itself (disk full); no new trial is started"


def test_nothing_new_is_decided_for_a_trial_ending_while_the_sweep_stops():
    failed = Outcome(FAIL, error="x", settings_error=True)
    assert lifecycle.trial_ended(failed, 0, 0, tally(stopping=True), Rules(max_failure_rate=0.0)) == Decision()


def test_the_failure_rate_is_judged_from_five_ended_trials():
    rules = Rules(max_failure_rate=0.5)
    # 3 of 4 failed: too few ended to judge.
    assert lifecycle.trial_ended(Outcome(FAIL), 4, 4, tally(complete=1, failed=2), rules).stop is None
    # The fifth: 3 of 5 failed > 0.5.
    stop = lifecycle.trial_ended(Outcome(FAIL), 5, 5, tally(complete=2, failed=2), rules).stop
    assert stop.exit_code == 1 and stop.status is SweepStatus.FAILED
    assert stop.message.startswith("3 of 5 trials failed, more than hydra.sweeper.max_failure_rate=0.5")
    # 2 of 5 failed is within 0.5; a complete trial can end under the limit too.
    assert lifecycle.trial_ended(Outcome(COMPLETE, values=[1.0]), 5, 5, tally(complete=2, failed=2), rules).stop is None


def test_no_failure_rate_means_failures_never_stop_the_sweep():
    assert lifecycle.trial_ended(Outcome(FAIL), 9, 9, tally(failed=9), Rules()).stop is None


def test_a_lost_trial_runs_again_up_to_max_retries_counted_by_its_original_trial():
    rules = Rules(max_retries=1)
    assert lifecycle.trial_ended(lost("worker died"), 2, 2, Tally(), rules) == Decision(rerun=True)
    after = Tally()
    after.record(lost("worker died"), 2, Decision(rerun=True))
    assert after.reruns == {2: 1} and after.counts[LOST] == 1
    decision = lifecycle.trial_ended(lost("worker died"), 7, 2, after, rules)
    assert not decision.rerun
    assert decision.stop == Stop(
        SweepStatus.FAILED,
        1,
        "trial #7 was lost (worker died) and not recovered by reruns",
        announce="trial #7 was lost (worker died) and not recovered by reruns; no new trial is started",
    )


def test_a_trial_lost_while_the_sweep_stops_is_not_rerun_and_makes_the_exit_code_1_keeping_the_status():
    decision = lifecycle.trial_ended(lost("gone"), 1, 1, tally(stopping=True), Rules(max_retries=5))
    assert decision == Decision(stop=Stop(exit_code=1, message="trial #1 was lost (gone) and not recovered by reruns"))
    t = tally(stopping=True)
    t.record(lost("gone"), 1, decision)
    assert t.status is SweepStatus.FINISHED and t.exit_code == 1


def test_the_time_budget_stops_new_trials_only_after_it_passed():
    assert lifecycle.may_start(100.0, Rules()) is None
    assert lifecycle.may_start(5.0, Rules(timeout=5)) is None
    stop = lifecycle.may_start(5.1, Rules(timeout=5))
    assert stop.status is None and stop.exit_code is None
    assert stop.announce == "time budget of 5 s reached: no new trial; running ones finish"


def test_a_signal_kills_the_sweep_with_128_plus_its_number():
    stop = lifecycle.interrupted(signal.SIGTERM)
    assert stop.status is SweepStatus.KILLED and stop.exit_code == 128 + signal.SIGTERM
    assert stop.message.startswith("stopped by SIGTERM")
    assert lifecycle.cancelled_reason(signal.SIGINT) == "the sweep was stopped by SIGINT"


def test_a_sweep_whose_every_ended_trial_failed_ends_failed():
    assert lifecycle.at_end(tally(failed=3)) == Stop(SweepStatus.FAILED, 1, "every trial failed (3)")
    assert lifecycle.at_end(tally(complete=1, failed=3)) is None
    assert lifecycle.at_end(Tally()) is None
    already = tally(failed=3)
    already.exit_code = 2
    assert lifecycle.at_end(already) is None


# -- reading a job's end ------------------------------------------------------------------------


def done(value: object) -> JobReturn:
    return JobReturn(overrides=[], status=JobStatus.COMPLETED, _return_value=value)


def raised(error: BaseException) -> JobReturn:
    return JobReturn(overrides=[], status=JobStatus.FAILED, _return_value=error)


class TrialPruned(Exception):
    """Named as Optuna's: the outcome is read by the class name, without importing Optuna."""


class BrokenStore(RuntimeError):
    infrastructure = True


@pytest.mark.parametrize(
    ("job_return", "objectives", "expected"),
    [
        (done(0.5), ["value"], Outcome(COMPLETE, values=[0.5])),
        (done((1, 2.5)), ["a", "b"], Outcome(COMPLETE, values=[1.0, 2.5])),
        (done({"acc": 0.9, "loss": 1}), ["acc"], Outcome(COMPLETE, values=[0.9], metrics={"acc": 0.9, "loss": 1})),
        (raised(TrialPruned("at step 3")), ["value"], Outcome(PRUNED, error="at step 3")),
        (raised(ValueError("bad")), ["value"], Outcome(FAIL, error="ValueError: bad")),
        (raised(BrokenStore("full")), ["value"], Outcome(FAIL, error="BrokenStore: full", infrastructure=True)),
        (done(math.nan), ["value"], Outcome(FAIL, error="objective value(s) not finite: [nan]")),
    ],
)
def test_a_job_end_is_read_as_its_outcome(job_return, objectives, expected):
    outcome = read_outcome(job_return, None, objectives, need_values=True)
    if expected.values and math.isnan(expected.values[0]):
        assert outcome.state is FAIL
    assert outcome == expected


def test_returns_that_cannot_match_the_objectives_are_settings_errors():
    missing = read_outcome(done({"loss": 1.0}), None, ["acc"], need_values=True)
    assert missing.state is FAIL and missing.settings_error and "names acc, which the trial did not return" in missing.error
    pair = read_outcome(done([1.0, 2.0]), None, ["value"], need_values=True)
    assert pair.settings_error and pair.error.startswith("the job returned 2 value(s) for 1 objective(s)")


def test_a_grid_needs_no_values_but_an_unreadable_return_still_fails():
    assert read_outcome(done(None), None, ["value"], need_values=False) == Outcome(COMPLETE)
    assert read_outcome(done({"loss": 1.0}), None, ["acc"], need_values=False) == Outcome(COMPLETE, metrics={"loss": 1.0})
    text = read_outcome(done("text"), None, ["value"], need_values=False)
    assert text.state is FAIL and text.error.startswith("the job returned 'text'")


def test_a_lost_worker_is_an_infrastructure_failure_that_does_not_count():
    outcome = read_outcome(None, "WorkerCrashedError: killed", ["value"], need_values=True)
    assert outcome == Outcome(LOST, error="WorkerCrashedError: killed", infrastructure=True)
    assert not outcome.state.counted and COMPLETE.counted


# -- the loop, with a fake executor, source and tracker ------------------------------------------


def job(number: int, value: object = 1.0, tags: dict | None = None) -> Job:
    context = JobContext(number=number, overrides=[f"x={number}"], varying=[f"x={number}"], tags=tags or {})
    return Job(overrides=[f"x={number}"], idx=number, context=context)


class FakeExecutor:
    """Ends jobs in submission order; `ends[number]` says how (a JobReturn, a lost reason, or an exception to raise)."""

    def __init__(self, ends: dict[int, object], slots: int = 2, max_retries: int = 0) -> None:
        self.ends, self.slots, self.max_retries = ends, slots, max_retries
        self.running: list[Job] = []
        self.most_in_flight = 0
        self.cancelled: list[int] = []

    def submit(self, job: Job) -> None:
        self.running.append(job)
        self.most_in_flight = max(self.most_in_flight, len(self.running))

    def wait(self, timeout: float | None = None) -> list[JobEnd]:
        end = self.ends.get(self.running[0].context.number, done(1.0))
        if callable(end):  # the job's own code runs now, in the sweeping process
            end = end()
        if isinstance(end, BaseException):
            raise end
        job = self.running.pop(0)
        if isinstance(end, str):
            return [JobEnd(job, lost=end)]
        return [JobEnd(job, job_return=end, node_info={"host": f"node{job.idx % 2}", "keras": str(job.idx % 2)})]

    def in_flight(self) -> int:
        return len(self.running)

    def cancel_all(self) -> list[Job]:
        cancelled, self.running = self.running, []
        self.cancelled = [j.context.number for j in cancelled]
        return cancelled

    def close(self) -> None:
        pass


class FakeSource:
    def __init__(self, count: int) -> None:
        self.pending = [job(n) for n in range(count)]
        self.next_number = count
        self.recorded: list[tuple[int, TrialState]] = []

    def next_job(self) -> Job | None:
        return self.pending.pop(0) if self.pending else None

    def record(self, job: Job, outcome: Outcome) -> None:
        self.recorded.append((job.context.number, outcome.state))

    def rerun(self, lost_job: Job) -> Job:
        self.next_number += 1
        return job(self.next_number - 1, tags={"retry_of": str(lost_job.context.number)})


class FakeTracker(SweepTracker):
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_trial_submitted(self, job: JobContext) -> None:
        self.events.append(("submitted", job.number))

    def on_trial_end(self, trial) -> None:
        self.events.append(("end", trial.job.number, trial.state))

    def on_trial_lost(self, job: JobContext, reason: str, interrupted: bool) -> None:
        self.events.append(("lost", job.number, interrupted))


def run_loop(source, executor, rules=Rules(), tracker=None):
    tracker = tracker or FakeTracker()
    loop = TrialLoop(
        source, executor, tracker, rules, Display("value", "maximize", 4), outcome_reader(["value"], True), ["extra=1"]
    )
    return loop.run(), tracker


def test_the_loop_keeps_the_slots_full_and_records_every_trial_once(capsys):
    source, executor = FakeSource(4), FakeExecutor({1: raised(ValueError("no"))})
    result, tracker = run_loop(source, executor)
    assert executor.most_in_flight == 2
    assert source.recorded == [(0, COMPLETE), (1, FAIL), (2, COMPLETE), (3, COMPLETE)]
    assert [e for e in tracker.events if e[0] == "end"] == [
        ("end", 0, COMPLETE),
        ("end", 1, FAIL),
        ("end", 2, COMPLETE),
        ("end", 3, COMPLETE),
    ]
    assert result.tally.status is SweepStatus.FINISHED and result.tally.exit_code == 0
    output = capsys.readouterr().out
    assert "[4/4]  x=3  value=1.000" in output and "(ValueError: no)" in output
    # Nodes that run other package versions are named once.
    assert output.count("warning: node node1 differs from node node0 (keras: 0 here, 1 there)") == 1


def test_a_lost_trial_runs_again_once_and_the_sweep_finishes():
    source, executor = FakeSource(2), FakeExecutor({0: "WorkerCrashedError: killed"}, max_retries=1)
    result, tracker = run_loop(source, executor, Rules(max_retries=1))
    assert source.recorded == [(0, LOST), (1, COMPLETE), (2, COMPLETE)]
    assert ("lost", 0, False) in tracker.events and ("submitted", 2) in tracker.events
    assert result.tally.counts[LOST] == 1 and result.tally.exit_code == 0


@pytest.mark.parametrize("max_retries", [0, 1])
def test_every_job_is_told_whether_its_loss_would_be_rerun(max_retries):
    source, executor = FakeSource(2), FakeExecutor({}, max_retries=max_retries)
    submitted = []
    executor.submit = lambda j: (submitted.append(j.context.rerun_if_lost), FakeExecutor.submit(executor, j))
    run_loop(source, executor, Rules(max_retries=max_retries))
    assert submitted == [max_retries > 0] * 2


def test_a_trial_lost_without_reruns_left_stops_new_trials_and_fails_the_sweep():
    source, executor = FakeSource(4), FakeExecutor({0: "NodeDiedError: gone"}, slots=1)
    result, _ = run_loop(source, executor)
    assert source.recorded == [(0, LOST)]
    assert result.tally.status is SweepStatus.FAILED and result.tally.exit_code == 1


def test_a_signal_cancels_the_running_trials_records_them_interrupted_and_kills_the_sweep():
    source, executor = FakeSource(4), FakeExecutor({1: SweepInterrupted(signal.SIGTERM)})
    result, tracker = run_loop(source, executor)
    assert executor.cancelled == [1, 2]
    assert source.recorded == [(0, COMPLETE), (1, LOST), (2, LOST)]
    assert ("lost", 1, True) in tracker.events and ("lost", 2, True) in tracker.events
    assert result.tally.status is SweepStatus.KILLED and result.tally.exit_code == 128 + signal.SIGTERM


def swallowed_ctrl_c() -> JobReturn:
    """A trial during which Ctrl-C arrives, and a library turns the KeyboardInterrupt into its own
    error (as Keras does around a layer's `call`): the trial comes back as its own failure."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the handler raises before this ends
    except KeyboardInterrupt:
        return raised(TypeError("Exception encountered when calling LSTM.call(). Expected int32, but got None"))
    pytest.fail("the signal was not raised in the trial")


@pytest.mark.parametrize("slots", [1, 2])
def test_ctrl_c_wins_over_the_error_a_library_made_of_it(slots):
    before = signal.getsignal(signal.SIGINT)  # Python's default_int_handler, or SIG_IGN under `cmd &`
    source, executor = FakeSource(4), FakeExecutor({1: swallowed_ctrl_c}, slots=slots)
    result, tracker = run_loop(source, executor)
    assert source.recorded == [(0, COMPLETE), (1, LOST), *([(2, LOST)] if slots == 2 else [])]
    assert ("lost", 1, True) in tracker.events
    assert not [e for e in tracker.events if e[0] == "end" and e[1] != 0]  # never told as its own FAIL
    assert result.tally.counts[FAIL] == 0
    assert result.tally.status is SweepStatus.KILLED and result.tally.exit_code == 130
    assert signal.getsignal(signal.SIGINT) is before  # handlers given back


def test_a_held_signal_waits_for_the_block_and_a_second_one_cuts_it_short():
    latch = SignalLatch()
    with latch.held():
        latch.catch(signal.SIGINT)  # kept: the recording in the block goes on
        assert latch.signum == signal.SIGINT
        with pytest.raises(SweepInterrupted):
            latch.catch(signal.SIGINT)  # pressed again: the user insists
    with pytest.raises(SweepInterrupted):
        latch.raise_if_caught()


class FreedWhileInterrupted:
    """An object whose finaliser the signal interrupts (TensorFlow frees tensors in finalisers)."""

    def __init__(self, latch: SignalLatch) -> None:
        self.latch = latch

    def __del__(self) -> None:
        self.latch.catch(signal.SIGINT)  # what the handler does when Ctrl-C lands here


def test_ctrl_c_that_lands_in_a_finaliser_is_raised_again_in_the_trial_and_printed_nowhere(capsys):
    latch = SignalLatch()
    hook = sys.unraisablehook
    with pytest.raises(SweepInterrupted):
        with signals_caught(latch):
            freed = FreedWhileInterrupted(latch)
            del freed  # Python swallows what a finaliser raises...
            trial_ends = time.monotonic() + 30
            while time.monotonic() < trial_ends:  # ...so the trial would go on to its end
                pass
    assert latch.signum == signal.SIGINT
    assert "Exception ignored" not in capsys.readouterr().err
    assert sys.unraisablehook is hook  # Python's hook given back


# A database driver's call, as the signal handler sees it: code whose module is SQLAlchemy's.
DRIVER_CALL = """
import sys
latch.catch(signal.SIGINT, sys._getframe())  # Ctrl-C between a statement and its commit
committed_at = time.monotonic() + 0.2
while time.monotonic() < committed_at:
    pass
done = True
"""


def test_ctrl_c_inside_a_database_call_is_raised_once_the_call_is_done():
    latch = SignalLatch()
    driver = {"__name__": "sqlalchemy.engine.base", "latch": latch, "signal": signal, "time": time}
    with pytest.raises(SweepInterrupted):
        with signals_caught(latch):
            exec(DRIVER_CALL, driver)
            trial_ends = time.monotonic() + 30
            while time.monotonic() < trial_ends:
                pass
    assert driver.get("done")


def test_other_errors_in_finalisers_are_left_to_pythons_hook():
    seen = []
    hook = sys.unraisablehook
    sys.unraisablehook = seen.append
    try:
        with signals_caught(SignalLatch()):
            freed = FailsWhenFreed()
            del freed
    finally:
        sys.unraisablehook = hook
    assert [type(u.exc_value) for u in seen] == [ValueError]


class FailsWhenFreed:
    def __del__(self) -> None:
        raise ValueError("not ours")


def test_ctrl_c_is_sigint():
    result, _ = run_loop(FakeSource(1), FakeExecutor({0: KeyboardInterrupt()}))
    assert result.tally.exit_code == 130


def test_once_the_time_budget_passed_no_trial_starts(monkeypatch):
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr("hydra_plugins.seqsweep_plugins.engine.loop.time.monotonic", lambda: float(next(clock)))
    source = FakeSource(5)
    result, _ = run_loop(source, FakeExecutor({}, slots=1), Rules(timeout=15))
    assert [n for n, _ in source.recorded] == [0] and len(source.pending) == 4
    assert result.tally.status is SweepStatus.FINISHED and result.tally.exit_code == 0


def test_every_trial_failing_fails_the_sweep():
    result, _ = run_loop(FakeSource(2), FakeExecutor({0: raised(ValueError()), 1: raised(ValueError())}))
    assert result.tally.status is SweepStatus.FAILED and result.tally.message == "every trial failed (2)"


def test_jobs_get_the_sweeps_extra_overrides():
    source, executor = FakeSource(1), FakeExecutor({})
    submitted = []
    executor.submit = lambda j: (submitted.append(list(j.overrides)), FakeExecutor.submit(executor, j))
    run_loop(source, executor)
    assert submitted == [["x=0", "extra=1"]]
