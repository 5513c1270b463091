"""`refit_best`: after the search, train the best configuration once more, as a job marked refit."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState as OptunaState

from hydra_plugins.seqsweep_plugins.engine.console import say
from hydra_plugins.seqsweep_plugins.engine.executor import Job
from hydra_plugins.seqsweep_plugins.engine.hydra_private import job_error
from hydra_plugins.seqsweep_plugins.engine.job_context import JobContext
from hydra_plugins.seqsweep_plugins.engine.loop import TrialLoop
from hydra_plugins.seqsweep_plugins.optuna_sweeper.results import best_trials
from hydra_plugins.seqsweep_plugins.optuna_sweeper.search_space import override_text
from hydra_plugins.seqsweep_plugins.optuna_sweeper.settings import OptunaSettings
from hydra_plugins.seqsweep_plugins.optuna_sweeper.source import StudySource

WAIT_SECONDS = 5.0


def refit_best(study: optuna.Study, settings: OptunaSettings, source: StudySource, loop: TrialLoop) -> None:
    """The best trial (the first of the Pareto front) trained once more; not a trial of the study."""
    if not study.get_trials(deepcopy=False, states=(OptunaState.COMPLETE,)):
        say("refit_best: no trial completed, nothing to refit")
        return
    rows, reason = best_trials(study, settings.objectives, source.rule)
    if rows.empty:
        say(f"refit_best: no best trial ({reason}), nothing to refit")
        return
    best = study.trials[int(rows.iloc[0]["trial"])]
    varying = [override_text(key, best.params[key]) for key in best.params]
    # With a fidelity, the chosen configuration is refit at the top level (where it was chosen).
    top = [settings.fidelity.top_override] if settings.fidelity else []
    point = varying + settings.fixed_overrides + top
    context = JobContext(
        number=best.number,
        overrides=point,
        varying=varying,
        sweep=source.sweep_data,
        tags={"refit": "true", "refit_of_trial": str(best.number), "optuna_study": study.study_name},
        objectives=list(settings.objectives),
        refit=True,
    )
    say(f"refit_best: training trial #{best.number}'s configuration once more")
    loop.tracker.on_trial_submitted(context)
    loop.executor.submit(Job(overrides=[*point, *loop.job_overrides], idx=source.next_idx(), context=context))
    ends = []
    while loop.executor.in_flight():
        ends += loop.executor.wait(timeout=WAIT_SECONDS)
    for end in ends:
        failed = end.lost or (end.job_return is not None and end.job_return.status.name != "COMPLETED")
        reason = end.lost or job_error(end.job_return)
        say(f"refit_best: {'FAILED (' + str(reason) + ')' if failed else 'done'}")
