"""The Optuna sweep: check the settings, open (or resume) the study, keep `n_jobs` trials in flight
through the launcher's executor, tell each result as it ends, and report the best trial or the
Pareto front (settings: config.py).

Bad settings stop the command before any study, trial or tracker record exists: one line naming
the key and what is allowed, exit code 2. Every choice value and both ends of every range and
interval are composed (and run through the app's point check) before the first trial; each
sampled point is checked again before it is launched (a combination of values can be refused
even when each value is fine on its own), and a refused point is a FAIL trial.

Budget: `n_trials` counts the trials that ended by themselves (COMPLETE, PRUNED, FAIL). A trial
whose worker or sweeping process died is FAIL with `failure=infrastructure`, is not counted, and
is run again with the same parameters through Optuna's RetryHeartbeatStaleTrialCallback (the rerun names
the trial it repeats). Counting and asking happen under one lock on the storage, so several
sweeping processes on one study never pass `n_trials` together.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import optuna
from hydra.utils import get_class, get_method, instantiate
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import BaseDistribution, check_distribution_compatibility
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from hydra_plugins.seqsweep_plugins._base import SweeperBase, bare_key
from hydra_plugins.seqsweep_plugins._console import PointRefused, SweepConfigError, SweepRefused, first_line, refuse, say
from hydra_plugins.seqsweep_plugins._job import JobContext, TrialHandle
from hydra_plugins.seqsweep_plugins._loop import LoopRules, finish, run_trials
from hydra_plugins.seqsweep_plugins._outcome import COMPLETE, LOST, PRUNED, Outcome
from hydra_plugins.seqsweep_plugins._points import PointComposer
from hydra_plugins.seqsweep_plugins.executor import Job
from hydra_plugins.seqsweep_plugins.hooks import SweepEnd, SweepStart, SweepTracker
from hydra_plugins.seqsweep_plugins.optuna_sweeper._results import (
    best_trials,
    describe,
    state_counts,
    write_optimization_results,
)
from hydra_plugins.seqsweep_plugins.optuna_sweeper._search_space import (
    describe_distribution,
    edge_values,
    grid_values,
    override_text,
    parse_search_space,
)
from hydra_plugins.seqsweep_plugins.optuna_sweeper._study import (
    INFRASTRUCTURE,
    WORKER,
    RetryAsNewAttempt,
    budget_lock,
    counted_trials,
    default_study_name,
    heartbeats,
    open_storage,
    recover_abandoned_trials,
)
from hydra_plugins.seqsweep_plugins.secrets import mask_secrets


class OptunaSweeperImpl(SweeperBase):
    def __init__(
        self,
        sampler: Any,
        pruner: Any,
        objectives: Any,
        direction: Any,
        n_trials: int,
        n_jobs: int,
        storage: str | None,
        study_name: str | None,
        heartbeat_interval: int | None,
        params: DictConfig | None,
        custom_search_space: str | None = None,
        max_failure_rate: float | None = None,
        timeout: float | None = None,
        refit_best: bool = False,
        point_check: str | None = None,
        tracker: Any = None,
    ) -> None:
        super().__init__(point_check, tracker, objectives, direction, timeout, max_failure_rate)
        self.sampler_cfg = sampler
        self.pruner_cfg = OmegaConf.to_container(pruner, resolve=True) if isinstance(pruner, DictConfig) else pruner
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.storage_url = storage
        self.study_name = study_name
        self.heartbeat_interval = heartbeat_interval
        self.params = params or {}
        self.custom_search_space_name = custom_search_space
        self.refit_best = refit_best

    def sweep(self, arguments: list[str]) -> list[tuple[Job, Outcome]]:
        try:
            self.check_settings()
            composer, tracker = self.load_hooks()
            executor = self.executor()
            opened = self._open_study(arguments, composer, executor)
        except (SweepConfigError, PointRefused) as error:
            # One line, exit code 2, before any trial or tracker record exists.
            refuse(str(error))
        study, storage, distributions, fixed, existing = opened
        sweep_dir = self.save_sweep_config()
        goals = ", ".join(f"{d} {o}" for o, d in zip(self.objectives, self.directions))
        say(
            f"Optuna study '{study.study_name}': {goals}; {existing} trial(s) so far; n_trials={self.n_trials}; folder {sweep_dir}"
        )
        start = SweepStart(
            sweeper="optuna",
            label=self.label(),
            config=self.config,
            sweep_dir=str(sweep_dir),
            total=self.n_trials,
            varying=list(distributions),
            fixed=[f"{k}={v}" for k, v in fixed.items()],
            objectives=self.objectives,
            directions=self.directions,
            resumed_trials=existing,
            study={
                "name": study.study_name,
                "storage": mask_secrets(self._storage_text(storage)),
                "sampler": str(self.sampler_cfg.get("_target_")),
            },
        )
        try:
            sweep_data = tracker.on_sweep_start(start) or {}
        except (SweepConfigError, SweepRefused) as error:
            refuse(str(error))
        except Exception as error:  # noqa: BLE001 - e.g. a store the tracker cannot write: one line, no trial started
            refuse(f"{type(error).__name__}: {first_line(error)}" if not str(error) else first_line(error), code=1)
        source = StudySource(
            self,
            study,
            storage,
            distributions,
            fixed,
            composer,
            sweep_data,
            executor_in_process=getattr(executor, "in_process", True),
        )
        rules = LoopRules(
            objective=self.objectives[0],
            direction=self.directions[0],
            total=max(self.n_trials - counted_trials(study), 0),
            timeout=self.timeout,
            max_failure_rate=self.max_failure_rate,
            max_retries=getattr(executor, "max_retries", 0),
            job_overrides=self.job_overrides,
        )
        executor.slots = min(self.n_jobs, getattr(executor, "slots", 1)) or 1
        try:
            with heartbeats(storage, source.running_ids):
                result = run_trials(source, executor, tracker, rules, self.objectives)
                if self.refit_best and result.status == "FINISHED":
                    self._refit(study, source, executor, tracker)
        finally:
            executor.close()
        say(f"study '{study.study_name}': {len(study.trials)} trials ({state_counts(study)})")
        best = best_trials(study, self.objectives)
        print(describe(best, self.objectives, self.directions), flush=True)
        write_optimization_results(sweep_dir, best, self.objectives, self.directions)
        tracker.on_sweep_end(
            SweepEnd(
                result.status,
                dict(result.counts),
                best.to_dict("records"),
                self.objectives,
                self.directions,
                result.seconds,
                result.message,
            )
        )
        finish(result)
        return source.ended

    # -- setting up ---------------------------------------------------------------------------

    def _open_study(
        self, arguments: list[str], composer: PointComposer, executor: Any
    ) -> tuple[optuna.Study, Any, dict[str, BaseDistribution], dict[str, str], int]:
        """Check everything, then create or load the study and recover trials of dead processes."""
        search_space = [f"{key}={value}" for key, value in self.params.items()] + list(arguments)
        distributions, fixed = parse_search_space(search_space)
        _check_whole_number("hydra.sweeper.n_trials", self.n_trials)
        _check_whole_number("hydra.sweeper.n_jobs", self.n_jobs)
        if self.heartbeat_interval is not None:
            _check_whole_number("hydra.sweeper.heartbeat_interval", self.heartbeat_interval)
        if self.storage_url is None and not getattr(executor, "in_process", True):
            raise SweepConfigError(
                "hydra.sweeper.storage",
                None,
                "a database URL (e.g. postgresql+psycopg://...) with this launcher: its workers cannot reach an in-memory study",
            )
        self.custom_search_space = self._custom_search_space()
        sampler = self._sampler(distributions)
        pruner = self._pruner()
        self._check_edges(distributions, fixed, composer)

        storage = open_storage(self.storage_url, self.heartbeat_interval)
        name = self.study_name or default_study_name(self.label(), search_space, self.objectives, self.directions)
        try:
            study = optuna.create_study(
                storage=storage,
                sampler=sampler,
                pruner=pruner,
                study_name=name,
                directions=self.directions,
                load_if_exists=True,
            )
        except ValueError as error:  # an existing study with other directions
            raise SweepConfigError(
                "hydra.sweeper.study_name", name, f"a new name, or the directions of the existing study ({error})"
            ) from None
        _check_same_search_space(study, distributions)
        existing = len(study.trials)
        for line in recover_abandoned_trials(study, storage):
            say(line)
        if not isinstance(sampler, optuna.samplers.GridSampler):
            _reseed_for_resume(study, self.sampler_cfg, existing)
        # Named objectives in optuna-dashboard and study.trials_dataframe() (experimental, stable since 3.2).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(self.objectives)
        return study, storage, distributions, fixed, existing

    def _storage_text(self, storage: Any) -> str:
        return "in memory" if self.storage_url is None else str(storage.url)

    def _custom_search_space(self) -> Any:
        if not self.custom_search_space_name:
            return None
        try:
            return get_method(self.custom_search_space_name)
        except Exception as error:  # noqa: BLE001 - any import problem is the same config mistake
            raise SweepConfigError(
                "hydra.sweeper.custom_search_space",
                self.custom_search_space_name,
                f"a function `module.name(cfg, trial)` that can be imported ({error})",
            ) from None

    def _sampler(self, distributions: dict[str, BaseDistribution]) -> optuna.samplers.BaseSampler:
        sampler_class = _optuna_class(
            "hydra.sweeper.sampler", self.sampler_cfg, optuna.samplers.BaseSampler, "optuna.samplers"
        )
        extra = {}
        if issubclass(sampler_class, optuna.samplers.GridSampler):
            extra["search_space"] = {key: grid_values(key, d) for key, d in distributions.items()}
            size = 1
            for values in extra["search_space"].values():
                size *= len(values)
            if self.n_trials > size:
                say(f"GridSampler: the grid has {size} points, so n_trials={size} instead of {self.n_trials}")
                self.n_trials = size
        return _build("hydra.sweeper.sampler", self.sampler_cfg, **extra)

    def _pruner(self) -> optuna.pruners.BasePruner:
        if not self.pruner_cfg:
            # Not None: optuna.create_study(pruner=None) means a MedianPruner, and `pruner: null`
            # means no pruning (as in the jobs on Ray, which build the pruner from the same setting).
            return optuna.pruners.NopPruner()
        _optuna_class("hydra.sweeper.pruner", self.pruner_cfg, optuna.pruners.BasePruner, "optuna.pruners")
        target = self.pruner_cfg["_target_"]
        if len(self.objectives) > 1 and not target.endswith("NopPruner"):
            raise SweepConfigError(
                "hydra.sweeper.pruner", target, "null with two or more objectives: Optuna prunes single-objective studies only"
            )
        return _build("hydra.sweeper.pruner", self.pruner_cfg)

    def _check_edges(self, distributions: dict[str, BaseDistribution], fixed: dict[str, str], composer: PointComposer) -> None:
        """Every choice and both ends of every range and interval, each with the other keys at their first value."""
        first = {key: override_text(key, edge_values(d)[0]) for key, d in distributions.items()}
        base = [*first.values(), *(f"{key}={value}" for key, value in fixed.items())]
        points = [base] + [
            [override_text(key, value) if k == key else text for k, text in first.items()] + base[len(first) :]
            for key, d in distributions.items()
            for value in edge_values(d)[1:]
        ]
        for point in points:
            error = composer.error(point)
            if error is not None:
                raise PointRefused(error)

    # -- refit --------------------------------------------------------------------------------

    def _refit(self, study: optuna.Study, source: StudySource, executor: Any, tracker: SweepTracker) -> None:
        """Train the best configuration (the first of the Pareto front) once more, as a job marked refit."""
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete:
            say("refit_best: no trial completed, nothing to refit")
            return
        best = study.best_trial if len(self.directions) == 1 else sorted(study.best_trials, key=lambda t: t.number)[0]
        point = [override_text(key, best.params[key]) for key in best.params] + [f"{k}={v}" for k, v in source.fixed.items()]
        context = JobContext(
            number=best.number,
            overrides=point,
            varying=[override_text(k, best.params[k]) for k in best.params],
            sweep=source.sweep_data,
            tags={"refit": "true", "refit_of_trial": str(best.number), "optuna_study": study.study_name},
            objectives=self.objectives,
            refit=True,
        )
        say(f"refit_best: training trial #{best.number}'s configuration once more")
        tracker.on_trial_submitted(context)
        executor.submit(Job(overrides=[*point, *self.job_overrides], idx=source.next_idx(), context=context))
        ends = []
        while executor.in_flight():
            ends += executor.wait(timeout=5.0)
        for end in ends:
            failed = end.lost or (end.job_return is not None and end.job_return.status.name != "COMPLETED")
            say(f"refit_best: {'FAILED (' + str(end.lost or end.job_return._return_value) + ')' if failed else 'done'}")


class StudySource:
    """Trials asked from the study, told as they end (the TrialSource of _loop.py)."""

    def __init__(
        self,
        sweeper: OptunaSweeperImpl,
        study: optuna.Study,
        storage: Any,
        distributions: dict[str, BaseDistribution],
        fixed: dict[str, str],
        composer: PointComposer,
        sweep_data: dict[str, Any],
        executor_in_process: bool,
    ) -> None:
        self.sweeper, self.study, self.storage = sweeper, study, storage
        self.distributions, self.fixed, self.composer = distributions, fixed, composer
        self.sweep_data = sweep_data
        self.in_process = executor_in_process
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
                if counted_trials(self.study, running=True) >= self.sweeper.n_trials:
                    return None
                trial = self._ask()
            job = self._job_or_refusal(trial)
            if job is not None:
                return job

    def _ask(self) -> optuna.Trial:
        trial = self.study.ask(self.distributions)
        trial.set_user_attr("worker", WORKER)
        if self.sweeper.custom_search_space is not None:
            self.sweeper.custom_search_space(self.sweeper.config, trial)
        return trial

    def _job_or_refusal(self, trial: optuna.Trial) -> Job | None:
        point = [override_text(key, value) for key, value in trial.params.items()] + [
            f"{k}={v}" for k, v in self.fixed.items()
        ]
        error = self.composer.error(point)
        if error is not None:
            trial.set_user_attr("error", error)
            self._tell(trial, state=TrialState.FAIL)
            say(f"trial #{trial.number} not run: {error}")
            return None
        retry_of = RetryHeartbeatStaleTrialCallback.retried_trial_number(self.study._storage.get_trial(trial._trial_id))
        tags = {"optuna_study": self.study.study_name, "optuna_trial": str(trial.number)}
        if retry_of is not None:
            tags["retry_of"] = str(retry_of)
            trial.set_user_attr("retry_of", retry_of)
        handle = TrialHandle(
            study_name=self.study.study_name,
            storage_url=None if self.sweeper.storage_url is None else str(self.storage.url),
            trial_id=trial._trial_id,
            pruner=self.sweeper.pruner_cfg,
            live_trial=trial if self.in_process else None,
        )
        context = JobContext(
            number=trial.number,
            overrides=point,
            varying=[override_text(k, v) for k, v in trial.params.items()],
            sweep=self.sweep_data,
            tags=tags,
            objectives=self.sweeper.objectives,
            trial=handle,
        )
        self.trials[trial.number] = trial
        self.running_ids.add(trial._trial_id)
        return Job(overrides=point, idx=self.next_idx(), context=context)

    def record(self, job: Job, outcome: Outcome) -> None:
        trial = self.trials.pop(job.context.number)
        self.running_ids.discard(trial._trial_id)
        self.ended.append((job, outcome))
        if outcome.state == COMPLETE:
            self._tell(trial, outcome.values)
        elif outcome.state == PRUNED:
            self._tell(trial, state=TrialState.PRUNED)
        else:
            self._fail(trial, outcome.error or "failed", infrastructure=outcome.infrastructure or outcome.state == LOST)

    def rerun(self, job: Job) -> Job:
        """The rerun RetryHeartbeatStaleTrialCallback enqueued when the lost trial was told FAIL."""
        while True:
            with budget_lock(self.storage):
                trial = self._ask()
            rerun = self._job_or_refusal(trial)
            if rerun is not None:
                return rerun

    def abandon(self, job: Job, reason: str) -> None:
        trial = self.trials.pop(job.context.number, None)
        if trial is not None:
            self.running_ids.discard(trial._trial_id)
            self._fail(trial, reason, infrastructure=True)
        self.ended.append((job, Outcome(LOST, error=reason, infrastructure=True)))

    def _fail(self, trial: optuna.Trial, reason: str, infrastructure: bool) -> None:
        trial.set_user_attr("error", reason[:5000])
        if infrastructure:
            trial.set_user_attr("failure", INFRASTRUCTURE)
        self._tell(trial, state=TrialState.FAIL)
        if infrastructure:
            # Optuna's own way to run a failed trial again: a WAITING copy naming the trial it repeats.
            RetryAsNewAttempt(max_retry=None)(self.study, self.study._storage.get_trial(trial._trial_id))

    def _tell(self, trial: optuna.Trial, values: list[float] | None = None, state: TrialState | None = None) -> None:
        """study.tell, except that GridSampler's "grid exhausted" stop is expected here: it calls
        Study.stop, which only works inside Study.optimize, after the result is already stored."""
        try:
            self.study.tell(trial, values, state=state)
        except RuntimeError as error:
            if not (isinstance(self.study.sampler, optuna.samplers.GridSampler) and "Study.stop" in str(error)):
                raise


def _reseed_for_resume(study: optuna.Study, sampler_cfg: Any, existing: int) -> None:
    """A seeded sampler restarted on a resumed study would repeat the first trials' parameters:
    give it a seed derived from the configured one and the number of trials already there."""
    seed = sampler_cfg.get("seed") if existing else None
    if seed is not None:
        study.sampler = _build("hydra.sweeper.sampler", sampler_cfg, seed=(int(seed) * 1_000_003 + existing) % 2**31)


def _check_same_search_space(study: optuna.Study, distributions: dict[str, BaseDistribution]) -> None:
    """A resumed study must sample each key as before (Optuna refuses e.g. a changed choice list)."""
    earlier: dict[str, BaseDistribution] = {}
    for trial in study.get_trials(deepcopy=False):
        earlier.update(trial.distributions)
    for key, distribution in distributions.items():
        if key in earlier:
            try:
                check_distribution_compatibility(earlier[key], distribution)
            except ValueError:
                raise SweepConfigError(
                    f"hydra.sweeper.params.{bare_key(key)}",
                    describe_distribution(distribution),
                    f"what study '{study.study_name}' already searches ({describe_distribution(earlier[key])}); "
                    "or start another study with hydra.sweeper.study_name=NEW_NAME",
                ) from None


def _optuna_class(key: str, settings: Any, base: type, module: str) -> type:
    target = settings.get("_target_") if isinstance(settings, (dict, DictConfig)) else None
    cls = None
    if isinstance(target, str) and target:
        try:
            cls = get_class(target)
        except Exception:  # noqa: BLE001 - any import problem is the same config mistake
            cls = None
    if not isinstance(cls, type) or not issubclass(cls, base):
        names = [
            n
            for n in dir(sys.modules[module])
            if isinstance(getattr(sys.modules[module], n), type)
            and issubclass(getattr(sys.modules[module], n), base)
            and not n.startswith("Base")
        ]
        raise SweepConfigError(f"{key}._target_", target, f"a class of {module}: " + ", ".join(f"{module}.{n}" for n in names))
    return cls


def _build(key: str, settings: Any, **extra: Any) -> Any:
    try:
        return instantiate(settings, **extra)
    except Exception as error:  # noqa: BLE001 - wrong keyword, missing extra package, ...
        cause = error.__cause__ or error
        raise SweepConfigError(
            key, settings["_target_"], f"valid arguments for it ({type(cause).__name__}: {str(cause).splitlines()[0]})"
        ) from None


def _check_whole_number(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SweepConfigError(key, value, "a whole number >= 1")
