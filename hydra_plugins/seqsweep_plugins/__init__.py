"""seqsweep's Hydra plugins: a grid sweeper and an Optuna sweeper that run any Hydra app.

Public API for apps (the plugins never import an app; an app may import this):

    from hydra_plugins.seqsweep_plugins import current_job, current_trial, SweepTracker

- `current_trial()`: the running job's `optuna.Trial` (report, should_prune), None outside an Optuna sweep;
- `current_job()`: the job's `JobContext` (its trial number, varying settings, what the tracker handed out);
- `SweepTracker`: base class of the tracker an app names in `hydra.sweeper.tracker`;
- `mask_secrets`: hides passwords in URLs.
"""

from hydra_plugins.seqsweep_plugins._console import SweepConfigError, SweepRefused
from hydra_plugins.seqsweep_plugins._job import JobContext, current_job, current_trial
from hydra_plugins.seqsweep_plugins.executor import Job, JobEnd, TrialExecutor
from hydra_plugins.seqsweep_plugins.hooks import SweepEnd, SweepStart, SweepTracker, TrialEnd
from hydra_plugins.seqsweep_plugins.secrets import mask_secrets

__all__ = [
    "SweepConfigError",
    "SweepRefused",
    "Job",
    "JobEnd",
    "TrialExecutor",
    "JobContext",
    "SweepEnd",
    "SweepStart",
    "SweepTracker",
    "TrialEnd",
    "current_job",
    "current_trial",
    "mask_secrets",
]
