"""Trials asked from the study and told as they end: the Optuna sweeper's TrialSource (engine/loop.py)."""

from __future__ import annotations

import collections
import dataclasses
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
from hydra_plugins.seqsweep_plugins.optuna_sweeper.ladder import LevelVerdict, decide_level
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
        # Trials that finished a level and go on to the next: started before any new trial is asked.
        self.climbing: collections.deque[Job] = collections.deque()

    def next_idx(self) -> int:
        self._idx += 1
        return self._idx - 1

    def next_job(self) -> Job | None:
        """The next level of a climbing trial, else a new trial asked while the study holds fewer
        than n_trials counted and running ones (a trial is one configuration, whatever its levels)."""
        if self.climbing:
            return self.climbing.popleft()
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

    def record(self, job: Job, outcome: Outcome) -> Outcome | None:
        self.ended.append((job, outcome))
        trial = self.trials.pop(job.context.number, None)
        if trial is None:
            return None
        if job.context.level is not None and outcome.state is TrialState.COMPLETE:
            return self._level_ended(trial, job, outcome)
        self.running_ids.discard(trial_id(trial))
        if outcome.state is TrialState.COMPLETE:
            self._complete(trial, outcome)
        elif outcome.state is TrialState.PRUNED:
            self._tell(trial, state=OptunaState.PRUNED)
        else:
            self._fail(trial, outcome.error or "failed", infrastructure=outcome.infrastructure)
        return dataclasses.replace(outcome, level=job.context.level) if job.context.level is not None else None

    def stop_climbing(self, reason: str) -> list[str]:
        """The trials still waiting for their next level when the loop ended (a time budget, a
        signal, a failure stop): failed as interrupted, so the same command continues each from
        the level it reached. One line per trial."""
        lines = []
        while self.climbing:
            job = self.climbing.popleft()
            trial = self.trials.pop(job.context.number)
            self.running_ids.discard(trial_id(trial))
            self._fail(trial, f"{reason} before level {job.context.level}", infrastructure=True)
            lines.append(
                f"trial #{trial.number} stopped before level {job.context.level}; the same command continues it there"
            )
        return lines

    def _level_ended(self, trial: optuna.Trial, job: Job, outcome: Outcome) -> Outcome:
        """Report the level's value with the level as the step, then climb, complete or stop."""
        fidelity = self.settings.fidelity
        level, value = int(job.context.level), outcome.values[0]
        trial.report(value, step=level)
        values = {**job.context.earlier_levels, level: value}
        decision = decide_level(
            fidelity,
            level,
            values,
            level < fidelity.max and trial.should_prune(),
            type(self.settings.pruner).__name__,
            self._best_at_top(),
            self.settings.directions[0],
        )
        if decision.verdict is LevelVerdict.CLIMB:
            self.trials[trial.number] = trial
            self.climbing.append(self._level_job(trial, job.context, decision.next_level, values))
            return dataclasses.replace(outcome, level=level, next_level=decision.next_level)
        self.running_ids.discard(trial_id(trial))
        if decision.verdict is LevelVerdict.TOP:
            self._complete(trial, outcome)
            return dataclasses.replace(outcome, level=level)
        trial.set_user_attr("stopped", decision.reason)
        self._tell(trial, state=OptunaState.PRUNED)
        return dataclasses.replace(outcome, state=TrialState.PRUNED, error=decision.reason, level=level)

    def _complete(self, trial: optuna.Trial, outcome: Outcome) -> None:
        """Tell the trial COMPLETE, keeping what its value was measured on (for the best and the Pareto front)."""
        for key, evidence in self.rule.evidence(outcome.metrics).items():
            trial.set_user_attr(key, evidence)
        self._tell(trial, outcome.values)

    def _best_at_top(self) -> float | None:
        """The best value completed at the top level so far (the learning-curve rule's bar)."""
        if not self.settings.fidelity.curve_stop:
            return None
        values = [t.values[0] for t in self.study.get_trials(deepcopy=False, states=(OptunaState.COMPLETE,))]
        if not values:
            return None
        return max(values) if self.settings.directions[0] == "maximize" else min(values)

    def _level_job(self, trial: optuna.Trial, context: JobContext, level: int, values: dict[int, float]) -> Job:
        """The job of `trial` at `level`: its point with the fidelity's key set to the level."""
        base = [text for text in context.overrides if text != self.settings.fidelity.override(context.level)]
        point = [*base, self.settings.fidelity.override(level)]
        tags = {**context.tags, "fidelity_key": self.settings.fidelity.key, "fidelity_level": str(level)}
        ladder = dataclasses.replace(context, overrides=point, tags=tags, level=level, earlier_levels=dict(values))
        return Job(overrides=point, idx=self.next_idx(), context=ladder)

    def _ask(self) -> optuna.Trial:
        with heartbeat_apis():
            trial = self.study.ask(self.settings.distributions)
        trial.set_user_attr("worker", WORKER)
        if self.settings.custom_search_space is not None:
            self.settings.custom_search_space(self.master_config, trial)
        return trial

    def _job_or_refusal(self, trial: optuna.Trial) -> Job | None:
        point = [override_text(key, value) for key, value in trial.params.items()] + self.settings.fixed_overrides
        top = [self.settings.fidelity.top_override] if self.settings.fidelity else []
        error = self.composer.error([*point, *top])
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
            report_epochs=self.settings.fidelity is None,
        )
        self.trials[trial.number] = trial
        self.running_ids.add(trial_id(trial))
        if self.settings.fidelity is not None:
            done = self._levels_measured(trial)
            return self._level_job(trial, context, self.settings.fidelity.first_level_after(list(done)), done)
        return Job(overrides=point, idx=self.next_idx(), context=context)

    def _levels_measured(self, trial: optuna.Trial) -> dict[int, float]:
        """The values at the levels a lost trial had finished, which its rerun inherits (Optuna's
        retry callback copies them): the rerun continues at its first unmeasured level."""
        return {int(step): float(value) for step, value in sorted(frozen(self.study, trial).intermediate_values.items())}

    def _handle(self, trial: optuna.Trial) -> TrialHandle:
        return TrialHandle(
            study_name=self.study.study_name,
            storage_url=None if self.settings.storage_url is None else str(self.storage.url),
            trial_id=trial_id(trial),
            opener=open_trial,
            pruner=self.settings.pruner_settings,
            store_outage_s=self.settings.store_outage_s,
            live_trial=trial if self.in_process else None,
        )

    def _fail(self, trial: optuna.Trial, reason: str, infrastructure: bool) -> None:
        trial.set_user_attr("error", reason[:5000])
        if infrastructure:
            trial.set_user_attr("failure", INFRASTRUCTURE)
        self._tell(trial, state=OptunaState.FAIL)
        if infrastructure:
            # Optuna's own way to run a failed trial again: a WAITING copy naming the trial it repeats.
            enqueue_rerun(self.study, frozen(self.study, trial), keep_levels=self.settings.fidelity is not None)

    def _tell(self, trial: optuna.Trial, values: list[float] | None = None, state: OptunaState | None = None) -> None:
        """study.tell, except that GridSampler's "grid exhausted" stop is expected here: it calls
        Study.stop, which only works inside Study.optimize, after the result is already stored."""
        try:
            with heartbeat_apis():
                self.study.tell(trial, values, state=state)
        except RuntimeError as error:
            if not (isinstance(self.study.sampler, optuna.samplers.GridSampler) and "Study.stop" in str(error)):
                raise
