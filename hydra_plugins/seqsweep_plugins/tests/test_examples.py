"""The examples/ apps (plain Hydra apps, hydra-optuna-sweeper style configs) run with our sweepers."""

from __future__ import annotations

from pathlib import Path

import optuna
import yaml

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"


def results(tmp_path: Path) -> dict:
    return yaml.safe_load((tmp_path / "multirun" / "optimization_results.yaml").read_text())


def test_sphere_returns_a_float_and_tpe_finds_a_point_near_the_origin(run_app, tmp_path):
    code, output = run_app(EXAMPLES / "sphere" / "sphere.py")
    assert code == 0, output
    assert "[20/20]" in output and "20 trials (20 complete)" in output
    best = results(tmp_path)
    assert best["best_value"] <= 1.0  # the grid's best is 0 at x=0, y=0; 20 TPE trials get within 1
    assert best["best_value"] == best["best_params"]["x"] ** 2 + best["best_params"]["y"] ** 2


def test_two_floats_make_a_pareto_front_of_non_dominated_points(run_app, tmp_path):
    code, output = run_app(EXAMPLES / "multi_objective" / "multi_objective.py")
    assert code == 0, output
    front = results(tmp_path)["solutions"]
    assert len(front) >= 2
    values = [tuple(s["values"]) for s in front]
    for a in values:
        assert not any(b[0] <= a[0] and b[1] <= a[1] and b != a for b in values)


def test_custom_search_space_suggests_z_near_x_and_a_new_key(run_app, tmp_path):
    code, output = run_app(EXAMPLES / "custom_search_space" / "custom_search_space_objective.py")
    assert code == 0, output
    params = results(tmp_path)["best_params"]
    assert abs(params["z"] - params["x"]) <= 0.5 and 0 <= params["+w"] <= 1
    assert results(tmp_path)["best_value"] < 2.0


def test_pruning_app_prunes_through_current_trial(run_app, tmp_path):
    code, output = run_app(EXAMPLES / "pruning" / "pruning.py")
    assert code == 0, output
    study = optuna.load_study(study_name="pruning", storage=f"sqlite:///{tmp_path / 'pruning.db'}")
    states = [t.state for t in study.trials]
    assert len(states) == 12
    assert states.count(optuna.trial.TrialState.PRUNED) >= 1
    assert states.count(optuna.trial.TrialState.COMPLETE) >= 3
    # int(interval(5, 10)) samples whole numbers.
    assert all(isinstance(t.params["steps"], int) for t in study.trials)


def test_pruner_null_prunes_nothing(run_app, tmp_path):
    # Optuna's create_study(pruner=None) would be a MedianPruner, which prunes half of these trials.
    code, output = run_app(EXAMPLES / "pruning" / "pruning.py", "hydra.sweeper.pruner=null")
    assert code == 0, output
    study = optuna.load_study(study_name="pruning", storage=f"sqlite:///{tmp_path / 'pruning.db'}")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 12
