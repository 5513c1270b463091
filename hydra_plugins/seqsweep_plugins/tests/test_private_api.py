"""The private upstream APIs the plugin still uses (engine/hydra_private.py, optuna_sweeper/optuna_private.py,
ray_launcher/ray_private.py) behave as the plugin expects; a failure here means an upstream release changed one."""

from __future__ import annotations

import optuna
import pytest
from hydra.core.plugins import Plugins
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus

from hydra_plugins.seqsweep_plugins.engine import hydra_private
from hydra_plugins.seqsweep_plugins.optuna_sweeper import optuna_private as private_api
from hydra_plugins.seqsweep_plugins.optuna_sweeper.study import enqueue_rerun, retried_trial_number


def test_an_asked_trial_is_addressed_in_its_storage_by_its_trial_id():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    storage = private_api.storage_of(study)
    assert isinstance(storage, optuna.storages.BaseStorage)
    frozen = private_api.frozen(study, trial)
    assert frozen.number == trial.number and private_api.trial_id(frozen) == private_api.trial_id(trial)
    assert retried_trial_number(frozen) is None
    # The same trial, opened by id as a worker does.
    reopened = optuna.trial.Trial(study, private_api.trial_id(trial))
    assert reopened.number == trial.number and reopened.params == trial.params


def test_the_rerun_attribute_read_directly_is_the_one_optunas_retry_callback_writes():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(3):
        study.tell(study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}), state=optuna.trial.TrialState.FAIL)
    enqueue_rerun(study, study.trials[1])
    rerun = study.trials[-1]
    assert retried_trial_number(rerun) == 1
    assert private_api.retried_trial_numbers(study.get_trials(deepcopy=False)) == {1}


@pytest.mark.parametrize(
    ("value", "text"),
    [("gru", "gru"), ("two words", "two\\ words"), (None, "null"), (3, "3"), ([1, 2], "[1,2]"), ("a,b", "a\\,b")],
)
def test_a_sampled_value_is_written_as_hydra_writes_override_values(value, text):
    assert hydra_private.override_value_text(value) == text


def test_a_failed_jobs_exception_is_read_without_hydras_stderr_line(capfd):
    error = ValueError("bad")
    failed = JobReturn(overrides=[], status=JobStatus.FAILED)
    failed.return_value = error
    assert hydra_private.job_error(failed) is error
    assert hydra_private.job_error(JobReturn(overrides=[], status=JobStatus.COMPLETED, _return_value=1.0)) is None
    assert capfd.readouterr().err == ""


def test_a_workers_plugin_registry_survives_the_sweeping_processs_singleton_state():
    registry = Plugins.instance()
    state = Singleton.get_state()
    assert Plugins not in state["instances"]  # why the worker keeps its own
    assert hydra_private.with_plugin_registry_kept(state)["instances"][Plugins] is registry


@pytest.mark.ray
def test_rays_single_machine_switch_is_the_constant_the_launcher_sets():
    from ray._private import ray_constants

    from hydra_plugins.seqsweep_plugins.ray_launcher.ray_private import treat_as_single_machine

    previous = ray_constants.ENABLE_RAY_CLUSTER
    try:
        treat_as_single_machine()
        assert ray_constants.ENABLE_RAY_CLUSTER is False
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = previous
