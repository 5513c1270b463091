"""A fidelity ladder: levels, the pruner that judges them, the learning-curve rule, two slots,
bad settings, and resume after kill -9 (tests/apps/curve.py is the app)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from hydra.core.utils import JobReturn, JobStatus
from optuna.trial import TrialState as OptunaState

from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError
from hydra_plugins.seqsweep_plugins.engine.executor import Job, JobEnd
from hydra_plugins.seqsweep_plugins.engine.lifecycle import Rules
from hydra_plugins.seqsweep_plugins.engine.loop import Display, TrialLoop, outcome_reader
from hydra_plugins.seqsweep_plugins.engine.tracker import SweepTracker
from hydra_plugins.seqsweep_plugins.fidelity.curve_stop import curve_stop_reason
from hydra_plugins.seqsweep_plugins.fidelity.levels import Fidelity
from hydra_plugins.seqsweep_plugins.optuna_sweeper.ladder import LevelVerdict, decide_level, level_pruner_settings
from hydra_plugins.seqsweep_plugins.optuna_sweeper.settings import OptunaOptions, build_settings
from hydra_plugins.seqsweep_plugins.optuna_sweeper.source import StudySource

APP = Path(__file__).parent / "apps" / "curve.py"
LEVELS = [10, 20, 40, 80, 100]
LADDER = [
    "hydra/sweeper=optuna",
    "hydra.sweeper.direction=minimize",
    "hydra.sweeper.sampler.seed=1",
    "x=interval(0,4)",
    "hydra.sweeper.fidelity.key=size",
    "hydra.sweeper.fidelity.min=10",
    "hydra.sweeper.fidelity.max=100",
    "hydra.sweeper.fidelity.reduction_factor=2",
    "+hydra.sweeper.pruner._target_=optuna.pruners.SuccessiveHalvingPruner",
]
SH = {"_target_": "optuna.pruners.SuccessiveHalvingPruner"}


def fidelity(**changes) -> Fidelity:
    return Fidelity.from_setting({"key": "size", "min": 10, "max": 100, "reduction_factor": 2, **changes})


def log_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- the setting -----------------------------------------------------------------------------------


def test_levels_run_from_min_by_the_factor_and_end_at_max():
    assert fidelity().levels == LEVELS
    assert fidelity(min=1000, max=20000, reduction_factor=3).levels == [1000, 3000, 9000, 20000]
    assert fidelity(min=10, max=40).levels == [10, 20, 40]
    assert fidelity().next_level(40) == 80 and fidelity().next_level(100) is None
    assert fidelity().first_level_after([10, 20]) == 40
    assert Fidelity.from_setting({"key": None, "min": None}) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"min": 100, "max": 100},
            r"^hydra\.sweeper\.fidelity\.min=100 is not allowed: a whole number below hydra\.sweeper\.fidelity\.max=100$",
        ),
        ({"reduction_factor": 1}, r"^hydra\.sweeper\.fidelity\.reduction_factor=1 is not allowed: a whole number >= 2$"),
        ({"min": 0.5}, r"^hydra\.sweeper\.fidelity\.min=0\.5 is not allowed: a whole number >= 1$"),
        ({"curve_stop": "yes"}, r"curve_stop=yes is not allowed: true or false"),
        (
            {"step": 3},
            r"^hydra\.sweeper\.fidelity\.step=3 is not allowed: one of key, min, max, reduction_factor, curve_stop$",
        ),
    ],
)
def test_bad_fidelity_settings_are_one_line_naming_the_key(changes, message):
    with pytest.raises(ConfigError, match=message):
        fidelity(**changes)


def test_the_pruner_gets_its_resources_from_the_levels_and_one_that_contradicts_them_is_refused():
    assert level_pruner_settings(SH, fidelity()) == {**SH, "min_resource": 10, "reduction_factor": 2}
    hyperband = {"_target_": "optuna.pruners.HyperbandPruner", "max_resource": "auto"}
    assert level_pruner_settings(hyperband, fidelity())["max_resource"] == 100
    assert level_pruner_settings(None, fidelity()) is None
    with pytest.raises(ConfigError, match=r"^hydra\.sweeper\.pruner\.reduction_factor=3 is not allowed: 2 "):
        level_pruner_settings({**SH, "reduction_factor": 3}, fidelity())
    with pytest.raises(ConfigError, match=r"^hydra\.sweeper\.pruner\._target_=optuna\.pruners\.MedianPruner is not allowed: "):
        level_pruner_settings({"_target_": "optuna.pruners.MedianPruner"}, fidelity())


def test_a_level_climbs_unless_it_is_the_top_or_the_pruner_or_the_curve_stops_it():
    ladder = fidelity(curve_stop=True)
    assert decide_level(ladder, 100, {100: 0.5}, False, "SH", None, "maximize").verdict is LevelVerdict.TOP
    climb = decide_level(ladder, 20, {10: 0.6, 20: 0.65}, False, "SH", 0.9, "maximize")
    assert (climb.verdict, climb.next_level) == (LevelVerdict.CLIMB, 40)
    stop = decide_level(ladder, 20, {10: 0.6, 20: 0.65}, True, "SuccessiveHalvingPruner", None, "maximize")
    assert (stop.verdict, stop.reason) == (LevelVerdict.STOP, "stopped at level 20 by SuccessiveHalvingPruner")
    flat = {10: 0.60, 20: 0.61, 40: 0.62}
    stopped = decide_level(ladder, 40, flat, False, "SH", 0.9, "maximize")
    assert stopped.verdict is LevelVerdict.STOP and stopped.reason.startswith("stopped at level 40: its learning curve")


def test_the_curve_rule_stops_only_when_even_its_optimistic_end_falls_short_of_the_best():
    flat = {10: 0.60, 20: 0.61, 40: 0.62}  # accuracy, maximized: error 0.40, 0.39, 0.38
    assert curve_stop_reason(flat, 100, 0.9, "maximize") is not None
    assert curve_stop_reason(flat, 100, 0.6, "maximize") is None  # it may still beat 0.6
    assert curve_stop_reason({10: 0.6, 20: 0.61}, 100, 0.9, "maximize") is None  # two levels: no interval
    assert curve_stop_reason(flat, 100, None, "maximize") is None  # nothing completed at the top yet
    losses = {10: 0.5, 20: 0.45, 40: 0.41}
    assert curve_stop_reason(losses, 100, 0.05, "minimize") is not None
    assert curve_stop_reason({10: 2.0, 20: 1.5, 40: 1.1}, 100, 0.01, "maximize") is None  # no error reading


# -- two slots: promotion is asynchronous ---------------------------------------------------------


class Composer:
    def error(self, point):
        return None


class TwoSlots:
    """A fake executor of two slots on a simulated clock: a job at size s takes s / 10 time units.
    `lose`: (trial, size) of a job whose worker dies instead of returning."""

    slots, max_retries = 2, 1

    def __init__(self, lose: tuple[int, int] | None = None) -> None:
        self.now = 0.0
        self.running: list[tuple[float, float, Job]] = []
        self.busy: list[tuple[float, float, int, int]] = []  # start, end, trial, size
        self.lose = lose

    def submit(self, job: Job) -> None:
        size = int(next(o for o in job.overrides if o.startswith("size=")).split("=")[1])
        self.running.append((self.now, self.now + size / 10, job))

    def wait(self, timeout=None):
        start, end, job = min(self.running, key=lambda item: item[1])
        self.running.remove((start, end, job))
        self.now = end
        point = dict(o.split("=", 1) for o in job.overrides)
        size, x = int(point["size"]), float(point["x"])
        if (job.context.number, size) == self.lose:
            self.lose = None
            return [JobEnd(job=job, lost="its worker died")]
        self.busy.append((start, end, job.context.number, size))
        job_return = JobReturn(overrides=job.overrides, status=JobStatus.COMPLETED)
        job_return.return_value = (x - 2) ** 2 / 10 + 1 / size**0.5
        return [JobEnd(job=job, job_return=job_return)]

    def in_flight(self) -> int:
        return len(self.running)

    def cancel_all(self):
        return []

    def close(self) -> None:
        pass


def ladder_sweep(executor: TwoSlots, n_trials: int = 12) -> optuna.Study:
    """The Optuna sweeper's source and the engine's loop on the fake executor (no Hydra app)."""
    options = OptunaOptions(
        {"_target_": "optuna.samplers.RandomSampler", "seed": 3}, SH, n_trials, 2, None, "two", None, None, None, False
    )
    settings = build_settings(
        OptunaOptions(**{**options.__dict__, "fidelity": {"key": "size", "min": 10, "max": 100, "reduction_factor": 2}}),
        ["x=interval(0,4)"],
        ["value"],
        ["minimize"],
        "two",
        True,
    )
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, sampler=settings.sampler, pruner=settings.pruner, study_name="two")
    source = StudySource(settings, study, storage, Composer(), None, {}, in_process=True)
    rules = Rules(max_retries=executor.max_retries)
    display = Display("value", "minimize", n_trials)
    TrialLoop(source, executor, SweepTracker(), rules, display, outcome_reader(["value"], True), []).run()
    return study


def test_with_two_slots_no_slot_waits_for_a_rung_and_every_trial_climbs_the_levels_in_order():
    executor = TwoSlots()
    study = ladder_sweep(executor)

    # Each job started the moment another ended, and both slots stayed busy until the last
    # configuration was asked (after that, the budget is full and only climbing trials run).
    starts = sorted(start for start, *_ in executor.busy)
    ends = sorted(end for _, end, *_ in executor.busy)
    for start in starts[2:]:
        assert start in ends, f"a slot idled before {start}"
    last_ask = min(start for start, _, number, _ in executor.busy if number == 11)
    assert all(sum(s <= t < e for s, e, *_ in executor.busy) == 2 for t in ends if t <= last_ask)

    trials = study.get_trials()
    assert len(trials) == 12  # n_trials counts configurations, not levels
    for trial in trials:
        sizes = [size for _, _, number, size in sorted(executor.busy) if number == trial.number]
        assert sizes == LEVELS[: len(sizes)]
        assert sorted(trial.intermediate_values) == sizes  # a pruned trial keeps its value at each level
        assert trial.state is (OptunaState.COMPLETE if sizes[-1] == 100 else OptunaState.PRUNED)
    assert {t.state for t in trials} == {OptunaState.COMPLETE, OptunaState.PRUNED}


def test_a_trial_whose_worker_died_at_a_level_is_rerun_from_that_level_with_its_finished_levels():
    executor = TwoSlots(lose=(0, 40))
    study = ladder_sweep(executor, n_trials=4)
    lost = study.trials[0]
    assert lost.state is OptunaState.FAIL and lost.user_attrs["failure"] == "infrastructure"
    rerun = next(t for t in study.trials if t.system_attrs.get("failed_trial") == 0)
    assert rerun.params == lost.params and rerun.state is not OptunaState.FAIL
    ran = [size for _, _, number, size in sorted(executor.busy) if number in (0, rerun.number)]
    # 10 and 20 ran once, by the lost trial; its rerun began at 40, the level whose worker died
    assert ran == LEVELS[: len(ran)] and 40 in ran
    assert [size for _, _, number, size in sorted(executor.busy) if number == rerun.number][0] == 40
    assert set(rerun.intermediate_values) == set(ran)
    assert rerun.intermediate_values[10] == lost.intermediate_values[10]
    assert len([t for t in study.trials if t.state in (OptunaState.COMPLETE, OptunaState.PRUNED)]) == 4


# -- the whole sweep -------------------------------------------------------------------------------


def test_a_ladder_sweep_prunes_at_low_levels_and_refits_the_best_at_the_top(run_app, tmp_path):
    code, output = run_app(
        APP, *LADDER, "hydra.sweeper.n_trials=8", "hydra.sweeper.storage=sqlite:///optuna.db", "hydra.sweeper.refit_best=true"
    )
    assert code == 0, output
    assert "levels of size: 10, 20, 40, 80, 100 (one job each)" in output
    assert "level 10 value=" in output and "goes on to level 20" in output
    assert "stopped at level 10 by SuccessiveHalvingPruner" in output
    records = log_records(tmp_path / "levels.jsonl")
    *ladder, refit = records
    assert refit["size"] == 100 and refit["trial"] is not None
    by_trial: dict[int, list[int]] = {}
    for record in ladder:
        by_trial.setdefault(record["trial"], []).append(record["size"])
        # each level's job knows the values of the levels below it
        assert sorted(map(int, record["earlier"])) == LEVELS[: LEVELS.index(record["size"])]
    assert len(by_trial) == 8 and all(sizes == LEVELS[: len(sizes)] for sizes in by_trial.values())
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    pruned = [t for t in study.trials if t.state is OptunaState.PRUNED]
    assert pruned and all(sorted(t.intermediate_values) == by_trial[t.number] for t in pruned)
    assert all("stopped at level" in t.user_attrs["stopped"] for t in pruned)
    best = study.best_trial
    assert best.intermediate_values.keys() == set(LEVELS) and refit["trial"] == best.number


PRUNER = LADDER[-1]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            [PRUNER, "hydra.sweeper.fidelity.min=100"],
            "hydra.sweeper.fidelity.min=100 is not allowed: a whole number below hydra.sweeper.fidelity.max=100",
        ),
        (
            [PRUNER, "hydra.sweeper.fidelity.reduction_factor=1"],
            "hydra.sweeper.fidelity.reduction_factor=1 is not allowed: a whole number >= 2",
        ),
        (
            [PRUNER, "hydra.sweeper.fidelity.key=label"],
            "hydra.sweeper.fidelity.key=label is not allowed: an integer setting of the app's config (it is 'small')",
        ),
        (
            [PRUNER, "hydra.sweeper.fidelity.key=nothing"],
            "hydra.sweeper.fidelity.key=nothing is not allowed: an integer setting of the app's config (no such key)",
        ),
        (
            [PRUNER, "size=choice(10,20)"],
            "hydra.sweeper.fidelity.key=size is not allowed: a key that is neither in the search space",
        ),
        (
            ["+hydra.sweeper.pruner._target_=optuna.pruners.MedianPruner"],
            "hydra.sweeper.pruner._target_=optuna.pruners.MedianPruner is not allowed: with hydra.sweeper.fidelity.key set",
        ),
        (
            [PRUNER, "+hydra.sweeper.pruner.min_resource=5"],
            "hydra.sweeper.pruner.min_resource=5 is not allowed: 10 (hydra.sweeper.fidelity.min), or leave it out",
        ),
        (
            [PRUNER, "hydra.sweeper.fidelity.max=1000", "hydra.sweeper.point_check=curve.refuse_size_above"],
            "size=1000 is not allowed: at most 500",
        ),
    ],
)
def test_bad_ladders_are_refused_in_one_line_before_any_trial(run_app, tmp_path, overrides, message):
    code, output = run_app(APP, *LADDER[:-1], "hydra.sweeper.storage=null", *overrides)
    assert code == 2, output
    assert output.strip().splitlines()[-1].startswith(f"error: {message}")
    assert not (tmp_path / "levels.jsonl").exists()


def test_a_killed_sweep_resumes_without_running_a_finished_level_again(tmp_path):
    command = [
        sys.executable,
        str(APP),
        "-m",
        *LADDER,
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.storage=sqlite:///optuna.db",
        "hydra.sweeper.heartbeat_interval=1",
        "sleep=0.3",  # a job at size s sleeps 0.003 s per unit: level 100 takes 0.3 s
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[3]), os.environ.get("PYTHONPATH", "")])}
    first = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = tmp_path / "levels.jsonl"
    deadline = time.monotonic() + 60
    # Kill it once the first trial finished two levels: its third is running (it sleeps).
    while time.monotonic() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 2):
        time.sleep(0.02)
    time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    before = log_records(log)
    assert before and before[0]["trial"] == 0

    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "marked FAIL, it runs again" in second.stdout
    records = log_records(log)
    runs = [(round(r["x"], 12), r["size"]) for r in records]
    assert len(runs) == len(set(runs)), "a level of some configuration ran twice"
    rerun = [r for r in records[len(before) :] if round(r["x"], 12) == round(before[0]["x"], 12)]
    assert rerun and rerun[0]["size"] == LEVELS[len([b for b in before if b["trial"] == 0])]
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    states = [t.state for t in study.trials]
    assert OptunaState.RUNNING not in states and OptunaState.WAITING not in states
    ended = [t for t in study.trials if t.state in (OptunaState.COMPLETE, OptunaState.PRUNED)]
    assert len(ended) == 4


def test_a_time_budget_stops_a_climbing_trial_and_the_same_command_continues_it_at_its_level(run_app, tmp_path):
    # Level 10 sleeps 0.5 s, level 20 1 s, ...: the budget of 1 s runs out while trial 0 climbs.
    ladder = [*LADDER, "hydra.sweeper.n_trials=2", "hydra.sweeper.storage=sqlite:///optuna.db", "sleep=5"]
    code, output = run_app(APP, *ladder, "hydra.sweeper.timeout=1")
    assert code == 0, output
    first = log_records(tmp_path / "levels.jsonl")
    done = [r["size"] for r in first if r["trial"] == 0]
    assert done == LEVELS[: len(done)] and 1 <= len(done) < len(LEVELS)
    waiting = LEVELS[len(done)]
    assert f"trial #0 stopped before level {waiting}; the same command continues it there" in output

    code, output = run_app(APP, *ladder)
    assert code == 0, output
    records = log_records(tmp_path / "levels.jsonl")
    again = [r for r in records[len(first) :] if r["x"] == first[0]["x"]]
    # it continues at the level it waited for, knowing the finished ones, which do not run again
    assert again[0]["size"] == waiting and sorted(map(int, again[0]["earlier"])) == done
    assert [r["size"] for r in again] == LEVELS[len(done) : len(done) + len(again)]
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    ended = [t for t in study.trials if t.state in (OptunaState.COMPLETE, OptunaState.PRUNED)]
    assert len(ended) == 2 and not [t for t in study.trials if t.state in (OptunaState.RUNNING, OptunaState.WAITING)]
