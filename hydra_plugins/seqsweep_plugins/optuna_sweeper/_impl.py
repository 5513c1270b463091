"""The Optuna sweep: check the settings, open (or resume) the study, ask trials, launch them in
batches through Hydra's launcher, tell the results, and print the best trial or Pareto front.

Bad settings stop the command before any study, trial or MLflow run exists: one line naming
the key and what is allowed, exit code 2. Every choice value and both ends of every range and
interval are checked with the project's config validation before the first trial; each
sampled point is checked again before it is launched (a combination of values can be
refused even when each value is fine on its own), and a refused point is a FAIL trial.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import optuna
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf
from optuna.distributions import BaseDistribution, check_distribution_compatibility
from optuna.trial import TrialState

from hydra_plugins.seqsweep_plugins.optuna_sweeper import _mlflow_links as links
from hydra_plugins.seqsweep_plugins.optuna_sweeper._results import (
    best_trials,
    describe,
    state_counts,
)
from hydra_plugins.seqsweep_plugins.optuna_sweeper._search_space import (
    describe_distribution,
    edge_values,
    grid_values,
    override_text,
    parse_search_space,
)
from hydra_plugins.seqsweep_plugins.optuna_sweeper._study import (
    WORKER,
    default_study_name,
    heartbeats,
    open_storage,
    recover_abandoned_trials,
)
from hydra_plugins.seqsweep_plugins.validated_sweeper import sweep_point_error
from src.data.imdb_archive import DataSourceError
from src.errors import ConfigError, show
from src.tracking.optuna_trial import REPORT_ENV, STORAGE_ENV, STUDY_ENV, TRIAL_ID_ENV

# Logged after every epoch, so they can be reported to a pruner (exact_match: data=binary_addition).
EPOCH_METRICS = ["val_acc", "val_loss", "acc", "loss", "val_exact_match", "exact_match"]
# Everything else a finished trial returns in main()'s `metrics`.
RESULT_METRICS = [
    *EPOCH_METRICS, "test_acc", "test_loss", "test_exact_match", "fit_seconds", "ms_per_step", "n_params",
    "eval_seconds", "inference_ms_per_sample", "data_seconds", "epochs_run",
]
DIRECTIONS = ["maximize", "minimize"]


class OptunaSweeperImpl(Sweeper):
    def __init__(
        self,
        sampler: Any,
        pruner: Any,
        objectives: Any,
        direction: Any,
        n_trials: int,
        n_jobs: int,
        storage: str,
        study_name: str | None,
        heartbeat_interval: int | None,
        params: DictConfig | None,
    ) -> None:
        self.sampler_cfg = sampler
        self.pruner_cfg = pruner
        self.objectives = _as_list(objectives)
        self.directions = _as_list(direction)
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.storage_url = storage
        self.study_name = study_name
        self.heartbeat_interval = heartbeat_interval
        self.params = params or {}
        self.job_idx = 0

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )

    def sweep(self, arguments: list[str]) -> list[JobReturn]:
        try:
            study, storage, distributions, fixed = self._open_study(arguments)
        except (ConfigError, DataSourceError, PointRefused) as error:
            # One line, exit code 2, before any trial or MLflow run exists (as validated_basic does).
            print(f"error: {error}", file=sys.stderr, flush=True)
            sys.exit(2)

        returns = []
        remaining = self.n_trials - len(study.get_trials(deepcopy=False))
        parent_tagged = False
        while remaining > 0:
            trials = [study.ask(distributions) for _ in range(min(self.n_jobs, remaining))]
            remaining -= len(trials)
            returns += self._run_batch(study, storage, trials, distributions, fixed)
            parent = links.parent_run_id()
            if parent and not parent_tagged:
                links.tag_parent(parent, study, storage.url, self.objectives)
                parent_tagged = True

        print(f"\n[optuna] study '{study.study_name}': {len(study.trials)} trials ({state_counts(study)})", flush=True)
        best = best_trials(study, self.objectives)
        print(describe(best, self.objectives, self.directions), flush=True)
        if links.parent_run_id():
            links.store_results(links.parent_run_id(), best, multi_objective=len(self.directions) > 1)
        return returns

    # -- setting up ---------------------------------------------------------------------------

    def _open_study(self, arguments: list[str]) -> tuple[optuna.Study, Any, dict[str, BaseDistribution], dict[str, str]]:
        """Check everything, then create or load the study and recover trials of dead processes."""
        self._check_objectives()
        search_space = [f"{key}={value}" for key, value in self.params.items()] + list(arguments)
        distributions, fixed = parse_search_space(search_space)
        _check_whole_number("hydra.sweeper.n_trials", self.n_trials)
        _check_whole_number("hydra.sweeper.n_jobs", self.n_jobs)
        if self.heartbeat_interval is not None:
            _check_whole_number("hydra.sweeper.heartbeat_interval", self.heartbeat_interval)
        sampler = self._sampler(distributions)
        pruner = self._pruner()
        self._check_edges(distributions, fixed)

        storage = open_storage(self.storage_url, self.heartbeat_interval)
        # The preset's name (+sweeps=NAME), else the experiment's, then a hash of the swept settings.
        label = OmegaConf.select(self.config, "hydra.runtime.choices.sweeps") or OmegaConf.select(
            self.config, "tracking.experiment_name", default="seqsweep"
        )
        name = self.study_name or default_study_name(str(label), search_space, self.objectives, self.directions)
        try:
            study = optuna.create_study(
                storage=storage, sampler=sampler, pruner=pruner, study_name=name,
                directions=self.directions, load_if_exists=True,
            )
        except ValueError as error:  # an existing study with other directions
            raise ConfigError("hydra.sweeper.study_name", name, f"a new name, or the directions of the existing study ({error})") from None

        _check_same_search_space(study, distributions)
        existing = len(study.trials)
        for line in recover_abandoned_trials(study, storage):
            print(f"[optuna] {line}", flush=True)
        if existing:
            closed, parents = links.close_abandoned_runs(self.config.tracking, study)
            if closed or parents:
                print(f"[optuna] closed {closed} trial run(s) and {parents} parent run(s) in MLflow that a dead sweep left RUNNING", flush=True)
        to_run = max(self.n_trials - existing, 0)
        print(
            f"[optuna] study '{name}' in {links._without_password(storage.url)}: {existing} trials so far"
            + (f" ({state_counts(study)})" if existing else "")
            + f"; running {to_run} more to reach n_trials={self.n_trials}",
            flush=True,
        )
        return study, storage, distributions, fixed

    def _check_objectives(self) -> None:
        for name in self.objectives:
            if name not in RESULT_METRICS:
                raise ConfigError("hydra.sweeper.objectives", name, "metric names a trial returns: " + ", ".join(RESULT_METRICS))
        if not self.objectives:
            raise ConfigError("hydra.sweeper.objectives", "[]", "one or more metric names, e.g. [val_acc] or [val_acc, fit_seconds]")
        for direction in self.directions:
            if direction not in DIRECTIONS:
                raise ConfigError("hydra.sweeper.direction", direction, "maximize or minimize, or a list of them")
        if len(self.directions) != len(self.objectives):
            raise ConfigError(
                "hydra.sweeper.direction", f"[{', '.join(self.directions)}]",
                f"one direction per objective; hydra.sweeper.objectives has {len(self.objectives)}: [{', '.join(self.objectives)}]",
            )

    def _sampler(self, distributions: dict[str, BaseDistribution]) -> optuna.samplers.BaseSampler:
        sampler_class = _optuna_class("hydra.sweeper.sampler", self.sampler_cfg, optuna.samplers.BaseSampler, "optuna.samplers")
        extra = {}
        if issubclass(sampler_class, optuna.samplers.GridSampler):
            extra["search_space"] = {key: grid_values(key, d) for key, d in distributions.items()}
            size = 1
            for values in extra["search_space"].values():
                size *= len(values)
            if self.n_trials > size:
                print(f"[optuna] GridSampler: the grid has {size} points, so n_trials={size} instead of {self.n_trials}", flush=True)
                self.n_trials = size
        return _build("hydra.sweeper.sampler", self.sampler_cfg, **extra)

    def _pruner(self) -> optuna.pruners.BasePruner | None:
        if not self.pruner_cfg:
            return None
        _optuna_class("hydra.sweeper.pruner", self.pruner_cfg, optuna.pruners.BasePruner, "optuna.pruners")
        target = self.pruner_cfg["_target_"]
        if len(self.objectives) > 1 and not target.endswith("NopPruner"):
            raise ConfigError("hydra.sweeper.pruner", target, "null with two or more objectives: Optuna prunes single-objective studies only")
        if self.objectives[0] not in EPOCH_METRICS:
            raise ConfigError(
                "hydra.sweeper.pruner", target,
                f"null when the objective ({self.objectives[0]}) is not logged every epoch; prune on one of {', '.join(EPOCH_METRICS)}",
            )
        return _build("hydra.sweeper.pruner", self.pruner_cfg)

    def _check_edges(self, distributions: dict[str, BaseDistribution], fixed: dict[str, str]) -> None:
        """Every choice and both ends of every range and interval, each with the other keys at their first value."""
        first = {key: override_text(key, edge_values(d)[0]) for key, d in distributions.items()}
        base = [*first.values(), *(f"{key}={value}" for key, value in fixed.items())]
        points = [base] + [
            [override_text(key, value) if k == key else text for k, text in first.items()] + base[len(first):]
            for key, d in distributions.items()
            for value in edge_values(d)[1:]
        ]
        for point in points:
            error = sweep_point_error(self, point)
            if error is not None:
                raise PointRefused(error)

    # -- running ------------------------------------------------------------------------------

    def _run_batch(
        self, study: optuna.Study, storage: Any, trials: list[optuna.Trial],
        distributions: dict[str, BaseDistribution], fixed: dict[str, str],
    ) -> list[JobReturn]:
        launched, overrides = [], []
        for trial in trials:
            trial.set_user_attr("worker", WORKER)
            point = [override_text(key, trial.params[key]) for key in distributions] + [f"{k}={v}" for k, v in fixed.items()]
            error = sweep_point_error(self, point)
            if error is not None:
                trial.set_user_attr("error", error)
                _tell(study, trial, state=TrialState.FAIL)
                print(f"[optuna] trial #{trial.number} not run: {error}", flush=True)
                continue
            launched.append(trial)
            overrides.append(tuple(point + self._link_overrides(study, storage, trial)))
        if not launched:
            return []
        try:
            # Trial ids address the trials in storage; Optuna's Trial keeps its id in _trial_id.
            with heartbeats(storage, [trial._trial_id for trial in launched]):
                returns = list(self.launcher.launch(overrides, initial_job_idx=self.job_idx))
        except BaseException:
            # Ctrl-C or a launcher error: no trial of this batch may stay RUNNING.
            for trial in launched:
                if storage.get_trial(trial._trial_id).state == TrialState.RUNNING:
                    trial.set_user_attr("error", "the sweep was interrupted")
                    _tell(study, trial, state=TrialState.FAIL)
            raise
        self.job_idx += len(returns)
        for trial, job in zip(launched, returns):
            self._record(study, trial, job)
        return returns

    def _link_overrides(self, study: optuna.Study, storage: Any, trial: optuna.Trial) -> list[str]:
        """Environment of the trial's job, naming its study trial (works with any launcher)."""
        report = self.objectives[0] if len(self.objectives) == 1 and self.objectives[0] in EPOCH_METRICS else ""
        env = {STUDY_ENV: study.study_name, STORAGE_ENV: storage.url, TRIAL_ID_ENV: str(trial._trial_id), REPORT_ENV: report}
        return [f"++hydra.job.env_set.{name}={_quoted(value)}" for name, value in env.items()]

    def _record(self, study: optuna.Study, trial: optuna.Trial, job: JobReturn) -> None:
        """Tell the study what the job returned: COMPLETE with the objectives, PRUNED, or FAIL."""
        # A job that raised holds the exception; JobReturn.return_value would re-raise it.
        outcome = job.return_value if job.status == JobStatus.COMPLETED else {"status": "FAILED", "error": repr(job._return_value)}
        if not isinstance(outcome, dict):
            outcome = {"status": "FAILED", "error": f"the task returned {outcome!r}, not main()'s result dict"}
        status = outcome.get("status")
        if status == "PRUNED":
            _tell(study, trial, state=TrialState.PRUNED)
            return
        if status == "FINISHED":
            metrics = outcome.get("metrics", {})
            missing = [name for name in self.objectives if not _is_finite(metrics.get(name))]
            if not missing:
                _tell(study, trial, [float(metrics[name]) for name in self.objectives])
                return
            outcome = {"error": f"objective(s) {', '.join(missing)} missing or not finite in the trial's metrics"}
            print(f"[optuna] trial #{trial.number} FAILED: {outcome['error']}", flush=True)
        trial.set_user_attr("error", str(outcome.get("error", "failed"))[:5000])
        _tell(study, trial, state=TrialState.FAIL)


class PointRefused(ValueError):
    """A sweep point refused by the project's validation; the message names the key and the point."""


def _tell(study: optuna.Study, trial: optuna.Trial, values: list[float] | None = None, state: TrialState | None = None) -> None:
    """study.tell, except that GridSampler's "grid exhausted" stop is expected here: it calls
    Study.stop, which only works inside Study.optimize, after the result is already stored."""
    try:
        study.tell(trial, values, state=state)
    except RuntimeError as error:
        if not (isinstance(study.sampler, optuna.samplers.GridSampler) and "Study.stop" in str(error)):
            raise


def _check_same_search_space(study: optuna.Study, distributions: dict[str, BaseDistribution]) -> None:
    """A resumed study must sample each key as before (Optuna refuses e.g. a changed choice list)."""
    earlier = {}
    for trial in study.get_trials(deepcopy=False):
        earlier.update(trial.distributions)
    for key, distribution in distributions.items():
        if key in earlier:
            try:
                check_distribution_compatibility(earlier[key], distribution)
            except ValueError:
                raise ConfigError(
                    f"hydra.sweeper.params.{key}", describe_distribution(distribution),
                    f"what study '{study.study_name}' already searches ({describe_distribution(earlier[key])}); "
                    "or start another study with hydra.sweeper.study_name=NEW_NAME",
                ) from None


def _optuna_class(key: str, settings: Any, base: type, module: str) -> type:
    target = settings.get("_target_") if isinstance(settings, (dict, DictConfig)) else None
    try:
        cls = get_class(str(target))
    except Exception:  # noqa: BLE001 - any import problem is the same config mistake
        cls = None
    if not isinstance(cls, type) or not issubclass(cls, base):
        names = [n for n in dir(sys.modules[module]) if isinstance(getattr(sys.modules[module], n), type)
                 and issubclass(getattr(sys.modules[module], n), base) and not n.startswith("Base")]
        raise ConfigError(f"{key}._target_", show(target), f"a class of {module}: " + ", ".join(f"{module}.{n}" for n in names))
    return cls


def _build(key: str, settings: Any, **extra: Any) -> Any:
    try:
        return instantiate(settings, **extra)
    except Exception as error:  # noqa: BLE001 - wrong keyword, missing extra package, ...
        cause = error.__cause__ or error
        raise ConfigError(key, settings["_target_"], f"valid arguments for it ({type(cause).__name__}: {str(cause).splitlines()[0]})") from None


def _check_whole_number(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(key, value, "a whole number >= 1")


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, ListConfig)):
        return [str(v) for v in value]
    return [str(value)]


def _is_finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _quoted(text: str) -> str:
    """A value for a Hydra override, quoted so URLs and names pass through unchanged."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
