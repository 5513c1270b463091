"""Both sweepers on a tiny plain Hydra app, in-process: returns, failures, budgets, refusals."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

APP = Path(__file__).parent / "apps" / "objective.py"
GRID = ["hydra/sweeper=grid", "x=0,1,2,3,4,5"]
OPTUNA = [
    "hydra/sweeper=optuna",
    "hydra.sweeper.direction=minimize",
    "hydra.sweeper.storage=null",
    "hydra.sweeper.n_trials=6",
    "hydra.sweeper.sampler.seed=1",
    "x=range(0,6)",
]


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_a_dict_return_is_read_by_the_named_objective(run_app, tmp_path):
    code, output = run_app(APP, *OPTUNA, "kind=dict", "hydra.sweeper.objectives=[loss]")
    assert code == 0, output
    best = yaml.safe_load((tmp_path / "multirun" / "optimization_results.yaml").read_text())
    assert best == {"name": "optuna", "best_params": {"x": 2}, "best_value": 0}
    assert "[6/6]" in output and "best loss=0.000" in output


def test_two_floats_need_two_directions(run_app):
    code, output = run_app(APP, *OPTUNA, "kind=pair", "hydra.sweeper.direction=[minimize,maximize]")
    assert code == 0, output
    # Every trial would fail the same way: the sweep stops after the first, as for a bad setting.
    code, output = run_app(APP, *OPTUNA, "kind=pair")
    assert code == 2 and len(re.findall(r"^\[\d+/6\]", output, flags=re.MULTILINE)) == 1
    assert last_line(output).startswith(
        "error: the job returned 2 value(s) for 1 objective(s) (value); give one direction per value"
    )


def test_an_unreadable_return_fails_each_trial_with_the_reason_and_the_sweep_exits_non_zero(run_app):
    code, output = run_app(APP, *OPTUNA, "kind=text")
    assert code == 1
    assert "FAIL" in output and "the job returned 'not a number'; return a float" in output
    assert last_line(output) == "error: every trial failed (6)"


def test_hydra_errors_stop_the_grid_before_any_trial_with_one_line(run_app):
    code, output = run_app(APP, "hydra/sweeper=grid", "x=0,1", "y=3,4")
    assert code == 2
    assert last_line(output).startswith("error: Could not override 'y'.") and "(in sweep point:" in last_line(output)
    assert "trial #0 starts" not in output


def test_a_grid_records_failures_and_goes_on(run_app):
    code, output = run_app(APP, *GRID, "fail_below=2")
    assert code == 0, output
    assert output.count(" FAIL ") == 2 and "(RuntimeError: x=0 diverged)" in output and "[6/6]" in output


def test_max_failure_rate_stops_the_sweep_once_five_trials_ended(run_app):
    code, output = run_app(APP, *GRID, "fail_below=4", "hydra.sweeper.max_failure_rate=0.5")
    assert code == 1
    assert "[5/6]" in output and "[6/6]" not in output
    assert (
        last_line(output)
        == "error: 4 of 5 trials failed, more than hydra.sweeper.max_failure_rate=0.5; no new trial is started"
    )


def test_timeout_starts_no_trial_after_it(run_app):
    code, output = run_app(APP, *GRID, "sleep=0.4", "hydra.sweeper.timeout=1")
    assert code == 0, output
    assert "time budget of 1 s reached: no new trial" in output
    assert 2 <= len(re.findall(r"^\[\d+/6\]", output, flags=re.MULTILINE)) and "[6/6]" not in output


def test_bad_sweeper_settings_are_one_line(run_app):
    for setting, start in [
        (
            "hydra.sweeper.max_failure_rate=2",
            "error: hydra.sweeper.max_failure_rate=2.0 is not allowed: null (off) or a share",
        ),
        ("hydra.sweeper.timeout=-1", "error: hydra.sweeper.timeout=-1.0 is not allowed: null or a number of seconds > 0"),
        (
            "hydra.sweeper.point_check=nowhere.check",
            "error: hydra.sweeper.point_check=nowhere.check is not allowed: a function",
        ),
    ]:
        code, output = run_app(APP, *OPTUNA, setting)
        assert code == 2 and last_line(output).startswith(start), output


def test_a_point_check_named_by_its_function_refuses_a_point_before_any_trial(run_app):
    code, output = run_app(APP, *GRID, "hydra.sweeper.point_check=objective.refuse_x_above")
    assert code == 2 and "trial #" not in output
    assert last_line(output) == "error: x=5 is not allowed: at most 4 (in sweep point: x=5)"


def test_a_point_check_node_gets_its_settings(run_app):
    check = "hydra.sweeper.point_check={_target_:objective.refuse_x_above,_partial_:true,limit:2}"
    code, output = run_app(APP, *GRID, check)
    assert code == 2 and "trial #" not in output
    assert last_line(output) == "error: x=3 is not allowed: at most 2 (in sweep point: x=3)"


def test_resume_without_a_tracker_that_keeps_records_is_refused(run_app, tmp_path):
    code, output = run_app(APP, *GRID, "hydra.sweeper.resume=last")
    assert code == 2 and "trial #" not in output
    assert last_line(output).startswith("error: hydra.sweeper.resume=last is not allowed: null or never:")
    assert not (tmp_path / "multirun").exists()


def test_ctrl_c_while_the_tracker_records_the_sweeps_start_waits_for_it_then_stops_the_sweep(run_app, tmp_path):
    code, output = run_app(APP, *GRID, "hydra.sweeper.tracker={_target_:objective.TrackerInterruptedWhileStarting}")
    assert code == 130, output
    assert "trial #" not in output
    # The start was recorded whole, so the end could close what it made.
    assert (tmp_path / "record").read_text() == "created and known"
    assert (tmp_path / "end").read_text() == "KILLED"


def test_a_grid_dry_run_checks_and_lists_every_point_and_leaves_nothing(run_app, tmp_path):
    code, output = run_app(APP, "hydra/sweeper=grid", "x=0,1,2", "kind=float,dict", "hydra.sweeper.dry_run=true")
    assert code == 0, output
    lines = output.strip().splitlines()
    assert lines[0] == "[sweep] dry run: grid of 6 trial(s) varying x, kind"
    assert lines[1:7] == [
        f"[sweep]   #{n} x={x} kind={kind}" for n, (x, kind) in enumerate((x, k) for x in range(3) for k in ("float", "dict"))
    ]
    assert lines[-1].startswith("[sweep] dry run: every point was checked; nothing was trained")
    assert "trial #" not in output and not (tmp_path / "multirun").exists()


def test_a_dry_run_still_refuses_a_bad_point(run_app):
    code, output = run_app(APP, *GRID, "hydra.sweeper.point_check=objective.refuse_x_above", "hydra.sweeper.dry_run=true")
    assert code == 2 and last_line(output) == "error: x=5 is not allowed: at most 4 (in sweep point: x=5)"


def test_an_optuna_dry_run_shows_the_search_space_and_budget_and_creates_no_study(run_app, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    code, output = run_app(
        APP,
        "hydra/sweeper=optuna",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.study_name=dry",
        "hydra.sweeper.n_trials=7",
        "x=range(0,6)",
        "kind=dict",
        "hydra.sweeper.objectives=[loss]",
        "hydra.sweeper.direction=minimize",
        "hydra.sweeper.dry_run=true",
    )
    assert code == 0, output
    lines = output.strip().splitlines()
    assert lines[0] == (
        f"[sweep] dry run: Optuna study 'dry' ({storage}): minimize loss; n_trials=7, n_jobs=1; "
        "sampler optuna.samplers.TPESampler, pruner none"
    )
    assert lines[1:3] == ["[sweep]   x: int interval(0, 5)", "[sweep]   every trial: kind=dict"]
    assert "trial #" not in output
    assert not (tmp_path / "study.db").exists() and not (tmp_path / "multirun").exists()


def test_a_mistyped_group_option_in_a_sweep_names_the_options(run_app):
    code, output = run_app(APP, "hydra/sweeper=grid", "shape=round,squre")
    assert code == 2 and "trial #" not in output
    assert last_line(output) == (
        "error: In 'objective': Could not find 'shape/squre'; the options are round, square (in sweep point: shape=squre)"
    )


def test_the_same_command_with_another_sampler_continues_the_study(run_app, tmp_path):
    """What docs/configuration.md offers long studies: TPE first, then random on the same study."""
    import optuna

    study = [*OPTUNA[:2], "hydra.sweeper.storage=sqlite:///optuna.db", "hydra.sweeper.sampler.seed=1", "x=range(0,50)"]
    code, output = run_app(APP, *study, "hydra.sweeper.n_trials=3")
    assert code == 0, output
    code, output = run_app(APP, *study, "hydra.sweeper.n_trials=5", "hydra/sweeper/sampler=random")
    assert code == 0, output
    (summary,) = optuna.get_all_study_summaries(f"sqlite:///{tmp_path / 'optuna.db'}")
    assert summary.n_trials == 5
