"""`hydra/sweeper=optuna` through the real entry point, read back from the Optuna storage and MLflow.

Every test runs `python -m src.train -m hydra/sweeper=optuna ...` in a temp folder on tiny
models; the study lives in ./mlruns/optuna.db beside the MLflow store, as by default.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import mlflow
import optuna
import pandas as pd
import pytest
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from hydra_plugins.seqsweep_plugins import ConfigError
from hydra_plugins.seqsweep_plugins.optuna_sweeper.search_space import (
    parse_search_space,
)

TINY = ["model.units=4", "model.embedding_dim=8", "data.num_words=500", "data.maxlen=20"]
OPTUNA = ["-m", "hydra/sweeper=optuna", "hydra.sweeper.sampler.seed=7"]


def load_study(tmp_path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / 'mlruns' / 'optuna.db'}")


def test_sweep_syntax_maps_one_to_one_to_optuna_distributions():
    distributions, fixed = parse_search_space(
        [
            "model=simplernn,gru",
            "optimizer=choice(adam, sgd)",
            "model.units=range(16, 65, 16)",
            "model.dropout=range(0.0, 0.5, 0.1)",
            "model.recurrent_dropout=interval(0.0, 0.3)",
            "optimizer.learning_rate=tag(log, interval(1e-4, 1e-2))",
            "model.embedding_dim=tag(int, interval(8, 32))",
            "data.maxlen=tag(log, int, interval(10, 100))",
            "model.unroll=true,false",
            "model.recurrent_activation=null,sigmoid",
            "trainer.epochs=3",
        ]
    )
    assert distributions["model"] == CategoricalDistribution(["simplernn", "gru"])
    assert distributions["optimizer"] == CategoricalDistribution(["adam", "sgd"])
    # Hydra's range excludes its stop, like Python's: 16, 32, 48, 64.
    assert distributions["model.units"] == IntDistribution(16, 64, step=16)
    assert distributions["model.dropout"].step == pytest.approx(0.1)
    assert distributions["model.dropout"].high == pytest.approx(0.4)
    assert distributions["model.recurrent_dropout"] == FloatDistribution(0.0, 0.3)
    assert distributions["optimizer.learning_rate"] == FloatDistribution(1e-4, 1e-2, log=True)
    assert distributions["model.embedding_dim"] == IntDistribution(8, 32)
    assert distributions["data.maxlen"] == IntDistribution(10, 100, log=True)
    assert distributions["model.unroll"] == CategoricalDistribution([True, False])
    assert distributions["model.recurrent_activation"] == CategoricalDistribution([None, "sigmoid"])
    assert fixed == {"trainer.epochs": "3"}

    # A plain value after a sweep of the same key (e.g. on the command line) fixes it.
    distributions, fixed = parse_search_space(["model.units=choice(8, 16)", "model.units=32"])
    assert distributions == {} and fixed == {"model.units": "32"}

    for bad in [
        "model.units=range(10, 1)",
        "optimizer.learning_rate=tag(log, interval(0, 1))",
        "model.units=tag(int, interval(1.5, 8))",
        "model.units=interval(8, 8)",
        "model.units=choice(8,",
    ]:
        with pytest.raises(ConfigError, match=r"^hydra\.sweeper\.params\.(model\.units|optimizer\.learning_rate)="):
            parse_search_space([bad])


@pytest.mark.slow
def test_two_objectives_make_a_pareto_front_stored_on_the_parent(run_cli, store_runs, tmp_path):
    done = run_cli(
        *OPTUNA,
        "hydra.sweeper.study_name=pareto",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.objectives=[val_acc,fit_seconds]",
        "hydra.sweeper.direction=[maximize,minimize]",
        "hydra.sweeper.sampler._target_=optuna.samplers.NSGAIISampler",
        "+hydra.sweeper.sampler.population_size=2",
        "model=simplernn,gru",
        "model.units=range(4, 9, 4)",
        "optimizer.learning_rate=tag(log, interval(1e-3, 1e-2))",
        "model.embedding_dim=8",
        "data.num_words=500",
        "data.maxlen=20",
        "data.n_train=60",
        "trainer.epochs=2",
    )
    study = load_study(tmp_path, "pareto")
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert study.metric_names == ["val_acc", "fit_seconds"]  # named objectives in optuna-dashboard
    assert len(study.trials) == 4 and {t.state for t in study.trials} == {TrialState.COMPLETE}
    trial = study.trials[0]
    assert trial.distributions == {
        "model": CategoricalDistribution(["simplernn", "gru"]),
        "model.units": IntDistribution(4, 8, step=4),
        "optimizer.learning_rate": FloatDistribution(1e-3, 1e-2, log=True),
    }

    runs = store_runs().set_index("run_id")
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert len(children) == 4
    for t in study.trials:
        run = runs.loc[t.user_attrs["mlflow_run_id"]]
        assert run["tags.optuna_study"] == "pareto" and run["tags.optuna_trial"] == str(t.number)
        assert t.values == [pytest.approx(run["metrics.val_acc"]), pytest.approx(run["metrics.fit_seconds"])]
        assert run["params.model.name"] == t.params["model"]
        assert run["params.model.units"] == str(t.params["model.units"])

    front = sorted(t.number for t in study.best_trials)
    assert f"[optuna] Pareto front ({len(front)} trials; maximize val_acc, minimize fit_seconds)" in done.stdout
    parent_id = children["tags.mlflow.parentRunId"].iloc[0]
    parent = runs.loc[parent_id]
    assert parent["tags.pareto_front_trials"] == ",".join(map(str, front))
    assert parent["tags.optuna_study"] == "pareto"
    csv = mlflow.artifacts.load_text(f"runs:/{parent_id}/pareto_front.csv").splitlines()
    assert csv[0].startswith("trial,val_acc,fit_seconds,") and len(csv) == 1 + len(front)


@pytest.mark.slow
def test_a_clearly_worse_trial_is_pruned_and_recorded_killed(run_cli, store_runs, tmp_path):
    # Binary addition learns measurably in one epoch; a learning rate of 1e-9 leaves the weights
    # where they started (both trials share trainer.seed, so the same start), so the second
    # trial's epoch-1 val_acc is below the first trial's and a median pruner with no warm-up
    # stops it there. The second command continues the study the first one created, with the
    # same search space (a one-value choice) and another fixed learning rate.
    common = [
        *OPTUNA,
        "hydra.sweeper.study_name=prune",
        "data=binary_addition",
        "data.n_train=1000",
        "data.n_test=100",
        "model.units=choice(8)",
        "trainer.epochs=3",
        "+hydra.sweeper.pruner._target_=optuna.pruners.MedianPruner",
        "+hydra.sweeper.pruner.n_startup_trials=1",
        "+hydra.sweeper.pruner.n_warmup_steps=0",
    ]
    run_cli(*common, "hydra.sweeper.n_trials=1", "optimizer.learning_rate=0.03", source=None)
    done = run_cli(*common, "hydra.sweeper.n_trials=2", "optimizer.learning_rate=1e-9", source=None)

    good, bad = load_study(tmp_path, "prune").trials
    # Optuna steps count epochs from 0, as its pruners' n_warmup_steps assumes.
    assert good.state == TrialState.COMPLETE and sorted(good.intermediate_values) == [0, 1, 2]
    assert bad.state == TrialState.PRUNED and list(bad.intermediate_values) == [0]
    assert bad.intermediate_values[0] < good.intermediate_values[0]
    assert "PRUNED" in done.stdout and "(pruned at epoch 1 (val_acc=" in done.stdout
    assert "(1 complete, 1 pruned)" in done.stdout

    runs = store_runs("binary_addition").set_index("run_id")
    pruned_run = runs.loc[bad.user_attrs["mlflow_run_id"]]
    assert pruned_run["status"] == "KILLED" and pruned_run["tags.pruned_at_epoch"] == "1"
    assert pd.isna(pruned_run.get("tags.error")), "a pruned trial is not a failure"
    assert len(mlflow.MlflowClient().get_metric_history(pruned_run.name, "val_acc")) == 1
    assert runs.loc[good.user_attrs["mlflow_run_id"], "status"] == "FINISHED"
    assert pruned_run["params.optimizer.learning_rate"] == "1e-09"


@pytest.mark.slow
def test_failed_trials_are_fail_in_optuna_and_failed_in_mlflow(run_cli, store_runs, tmp_path):
    # SGD with this learning rate makes the loss NaN in the first epoch; the sweep goes on, and
    # since every trial failed it exits non-zero.
    done = run_cli(
        *OPTUNA,
        "hydra.sweeper.study_name=nan",
        "hydra.sweeper.n_trials=2",
        "data=binary_addition",
        "data.n_train=200",
        "data.n_test=50",
        "model.activation=relu",
        "optimizer=sgd",
        "optimizer.learning_rate=choice(1e12, 1e13)",
        "trainer.epochs=2",
        source=None,
        check=False,
    )
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1] == "error: every trial failed (2)"
    trials = load_study(tmp_path, "nan").trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.FAIL]
    runs = store_runs("binary_addition").set_index("run_id")
    for trial in trials:
        assert "loss became nan at epoch 1" in trial.user_attrs["error"]
        run = runs.loc[trial.user_attrs["mlflow_run_id"]]
        assert run["status"] == "FAILED" and run["tags.optuna_trial"] == str(trial.number)
    assert "(2 failed)" in done.stdout and "no trial completed" in done.stdout


@pytest.mark.slow
def test_a_killed_sweep_resumes_with_only_the_missing_trials(tmp_path, cache_dir, mini_archive, store_runs):
    command = [
        sys.executable,
        "-m",
        "src.train",
        *OPTUNA,
        "hydra.sweeper.study_name=resume",
        "hydra.sweeper.n_trials=3",
        "model=simplernn,gru",
        *TINY,
        "data.n_train=60",
        "trainer.epochs=6",
        f"data.source={mini_archive}",
    ]
    env = {**os.environ, "SEQSWEEP_CACHE_DIR": str(cache_dir)}
    env.pop("MLFLOW_TRACKING_URI", None)
    with open(tmp_path / "killed.log", "w") as log:
        sweep = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for_second_trial_to_train(tmp_path, sweep)
        finally:
            sweep.send_signal(signal.SIGKILL)  # kill -9: nothing gets to clean up
            sweep.wait()

    before = load_study(tmp_path, "resume").trials
    assert [t.state for t in before] == [TrialState.COMPLETE, TrialState.RUNNING]
    assert set(store_runs()["status"]) == {"FINISHED", "RUNNING"}

    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "trial #1 was left RUNNING by a process that is gone (" in done.stdout
    assert "n_trials=3" in done.stdout and "2 trial(s) so far" in done.stdout

    # The killed trial is an infrastructure failure: not counted, and run again with its parameters.
    after = load_study(tmp_path, "resume").trials
    assert [t.state for t in after] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]
    assert after[2].params == before[1].params and after[2].user_attrs["retry_of"] == 1
    assert after[1].user_attrs["failure"] == "infrastructure"
    # The rerun is a new attempt: none of the failed attempt's failure, error or process.
    assert (
        not {"failure", "error"} & set(after[2].user_attrs) and after[2].user_attrs["worker"] != after[1].user_attrs["worker"]
    )
    first, first_again = before[0], after[0]
    assert (first_again.values, first_again.params, first_again.datetime_complete, first_again.user_attrs) == (
        first.values,
        first.params,
        first.datetime_complete,
        first.user_attrs,
    )
    assert "died" in after[1].user_attrs["error"]

    runs = store_runs().set_index("run_id")
    assert "RUNNING" not in set(runs["status"]), runs["status"].to_dict()
    killed_trial = runs.loc[after[1].user_attrs["mlflow_run_id"]]
    assert killed_trial["status"] == "FAILED" and "died" in killed_trial["tags.error"]
    old_parent = runs.loc[killed_trial["tags.mlflow.parentRunId"]]
    assert old_parent["status"] == "KILLED"
    assert runs.loc[after[2].user_attrs["mlflow_run_id"], "tags.retry_of"] == "1"
    new_parent = runs.loc[runs.loc[after[2].user_attrs["mlflow_run_id"], "tags.mlflow.parentRunId"]]
    assert new_parent["status"] == "FINISHED" and new_parent.name != old_parent.name


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            ["hydra.sweeper.objectives=[val_acc,fit_seconds]"],
            "error: hydra.sweeper.direction=[maximize] is not allowed: one direction per objective",
        ),
        (
            ["hydra.sweeper.sampler._target_=optuna.samplers.TPE"],
            "error: hydra.sweeper.sampler._target_=optuna.samplers.TPE is not allowed: a class of optuna.samplers: ",
        ),
        (
            ["model.units=choice(8, -3)"],
            "error: model.units=-3 is not allowed: a whole number > 0 (in sweep point: model.units=-3 ",
        ),
    ],
)
def test_bad_sweeper_settings_stop_before_any_run(run_cli, tmp_path, settings, message):
    done = run_cli(*OPTUNA, "data.n_train=60", *settings, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(message), done.stderr[-2000:]
    assert not (tmp_path / "mlruns" / "optuna.db").exists() and not (tmp_path / "mlruns" / "mlflow.db").exists()


@pytest.mark.slow
def test_an_objective_no_trial_returns_stops_the_sweep_after_the_first_trial(run_cli, tmp_path):
    done = run_cli(
        *OPTUNA,
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.objectives=[val_accuracy]",
        "data.n_train=60",
        "model.units=choice(4, 8)",
        "trainer.epochs=1",
        *TINY[1:],
        check=False,
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("error: hydra.sweeper.objectives names val_accuracy, which the trial did not return; it returned: ")
    )
    assert len(re.findall(r"^\[\d+/3\]", done.stdout, flags=re.MULTILINE)) == 1, "one trial ended, none started after it"


def _wait_for_second_trial_to_train(tmp_path, sweep: subprocess.Popen, timeout: float = 240) -> None:
    """Until trial #1 is RUNNING and linked to its MLflow run (so it is training)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert sweep.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
        if not re.search(r"^\[1/\d+\]", (tmp_path / "killed.log").read_text(), flags=re.MULTILINE):  # #0 ended
            time.sleep(0.2)
            continue
        try:
            trials = load_study(tmp_path, "resume").trials
        except Exception:  # noqa: BLE001 - the study does not exist yet
            trials = []
        if len(trials) == 2 and trials[1].state == TrialState.RUNNING and "mlflow_run_id" in trials[1].user_attrs:
            return
        time.sleep(0.2)
    pytest.fail("trial #1 never started: " + (tmp_path / "killed.log").read_text()[-3000:])
