"""Trials asked from the study and told as they end: the Optuna sweeper's TrialSource (engine/loop.py)."""

from __future__ import annotations

from typing import Any

import optuna
from omegaconf import DictConfig
from optuna.trial import TrialState as OptunaState

from hydra_plugins.seqsweep_plugins.engine.best_rule import BestRule
from hydra_plugins.seqsweep_plugins.engine.console import say
from hydra_plugins.seqsweep_plugins.engine.executor import Job
from hydra_plugins.seqsweep_plugins.engine.job_context import JobContext, TrialHandle
from hydra_plugins.seqsweep_plugins.engine.outcome import Outcome, TrialState
from hydra_plugins.seqsweep_plugins.engine.points import PointComposer
from hydra_plugins.seqsweep_plugins.optuna_sweeper.optuna_private import frozen, trial_id
from hydra_plugins.seqsweep_plugins.optuna_sweeper.search_space import override_text
from hydra_plugins.seqsweep_plugins.optuna_sweeper.settings import OptunaSettings
from hydra_plugins.seqsweep_plugins.optuna_sweeper.study import (
    INFRASTRUCTURE,
    WORKER,
    budget_lock,
    counted_trials,
    enqueue_rerun,
    heartbeat_apis,
    retried_trial_number,
)
from hydra_plugins.seqsweep_plugins.optuna_sweeper.trial_access import open_trial


class StudySource:
    def __init__(
        self,
        settings: OptunaSettings,
        study: optuna.Study,
        storage: optuna.storages.BaseStorage,
        composer: PointComposer,
        master_config: DictConfig,
        sweep_data: dict[str, Any],
        in_process: bool,
        rule: BestRule | None = None,
    ) -> None:
        self.settings, self.study, self.storage, self.composer = settings, study, storage, composer
        self.master_config = master_config
        self.sweep_data = sweep_data
        # Jobs in this process use the asked trial itself; others open it from the storage.
        self.in_process = in_process
        # What each trial was measured on is kept on the Optuna trial, for the best and the Pareto front.
        self.rule = rule or BestRule()
        self.trials: dict[int, optuna.Trial] = {}
        self.running_ids: set[int] = set()
        self.ended: list[tuple[Job, Outcome]] = []
        self._idx = 0

    def next_idx(self) -> int:
        self._idx += 1
        return self._idx - 1

    def next_job(self) -> Job | None:
        """Ask a trial while the study holds fewer than n_trials counted and running ones."""
        while True:
            with budget_lock(self.storage):
                if counted_trials(self.study, running=True) >= self.settings.n_trials:
                    return None
                trial = self._ask()
            job = self._job_or_refusal(trial)
            if job is not None:
                return job

    def rerun(self, job: Job) -> Job:
        """The rerun RetryHeartbeatStaleTrialCallback enqueued when the lost trial was told FAIL."""
        while True:
            with budget_lock(self.storage):
                trial = self._ask()
            rerun = self._job_or_refusal(trial)
            if rerun is not None:
                return rerun

    def record(self, job: Job, outcome: Outcome) -> None:
        self.ended.append((job, outcome))
        trial = self.trials.pop(job.context.number, None)
        if trial is None:
            return
        self.running_ids.discard(trial_id(trial))
        if outcome.state is TrialState.COMPLETE:
            for key, value in self.rule.evidence(outcome.metrics).items():
                trial.set_user_attr(key, value)
            self._tell(trial, outcome.values)
        elif outcome.state is TrialState.PRUNED:
            self._tell(trial, state=OptunaState.PRUNED)
        else:
            self._fail(trial, outcome.error or "failed", infrastructure=outcome.infrastructure)

    def _ask(self) -> optuna.Trial:
        with heartbeat_apis():
            trial = self.study.ask(self.settings.distributions)
        trial.set_user_attr("worker", WORKER)
        if self.settings.custom_search_space is not None:
            self.settings.custom_search_space(self.master_config, trial)
        return trial

    def _job_or_refusal(self, trial: optuna.Trial) -> Job | None:
        point = [override_text(key, value) for key, value in trial.params.items()] + self.settings.fixed_overrides
        error = self.composer.error(point)
        if error is not None:
            trial.set_user_attr("error", error)
            self._tell(trial, state=OptunaState.FAIL)
            say(f"trial #{trial.number} not run: {error}")
            return None
        tags = {"optuna_study": self.study.study_name, "optuna_trial": str(trial.number)}
        retry_of = retried_trial_number(frozen(self.study, trial))
        if retry_of is not None:
            tags["retry_of"] = str(retry_of)
            trial.set_user_attr("retry_of", retry_of)
        context = JobContext(
            number=trial.number,
            overrides=point,
            varying=[override_text(k, v) for k, v in trial.params.items()],
            sweep=self.sweep_data,
            tags=tags,
            objectives=list(self.settings.objectives),
            trial=self._handle(trial),
        )
        self.trials[trial.number] = trial
        self.running_ids.add(trial_id(trial))
        return Job(overrides=point, idx=self.next_idx(), context=context)

    def _handle(self, trial: optuna.Trial) -> TrialHandle:
        return TrialHandle(
            study_name=self.study.study_name,
            storage_url=None if self.settings.storage_url is None else str(self.storage.url),
            trial_id=trial_id(trial),
            opener=open_trial,
            pruner=self.settings.pruner_settings,
            live_trial=trial if self.in_process else None,
        )

    def _fail(self, trial: optuna.Trial, reason: str, infrastructure: bool) -> None:
        trial.set_user_attr("error", reason[:5000])
        if infrastructure:
            trial.set_user_attr("failure", INFRASTRUCTURE)
        self._tell(trial, state=OptunaState.FAIL)
        if infrastructure:
            # Optuna's own way to run a failed trial again: a WAITING copy naming the trial it repeats.
            enqueue_rerun(self.study, frozen(self.study, trial))

    def _tell(self, trial: optuna.Trial, values: list[float] | None = None, state: OptunaState | None = None) -> None:
        """study.tell, except that GridSampler's "grid exhausted" stop is expected here: it calls
        Study.stop, which only works inside Study.optimize, after the result is already stored."""
        try:
            with heartbeat_apis():
                self.study.tell(trial, values, state=state)
        except RuntimeError as error:
            if not (isinstance(self.study.sampler, optuna.samplers.GridSampler) and "Study.stop" in str(error)):
                raise
