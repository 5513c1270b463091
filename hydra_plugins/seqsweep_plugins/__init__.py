"""seqsweep's Hydra plugins: a grid sweeper, an Optuna sweeper and a Ray launcher for any Hydra app.

Who owns what (README.md beside this file has the settings and how an app plugs in):

- The **sweeper** (grid/, optuna_sweeper/) owns the sweep: it checks every point before the
  first trial, decides what runs next and records each trial's fate; both follow one template
  (engine/template.py) and supply only what differs.
- The **source** (GridSource, StudySource) owns the trials: it hands out the next job, records
  an end, and builds the rerun of a lost trial. The Optuna study is the source of truth for
  Optuna trials; the grid's is its list of points.
- The **loop** (engine/loop.py) owns the order of events in the sweeping process; the
  **lifecycle** (engine/lifecycle.py) decides, as pure functions, what each end means
  (rerun, stop, exit code).
- The **executor** (engine/executor.py; ray_launcher/ on Ray) owns running jobs: in this
  process, or on Ray workers; it never decides a trial's fate.
- The **tracker** (engine/tracker.py, the app's subclass) owns the app's records (MLflow
  runs); it is called in the sweeping process only.
- The **job** owns one trial's training; it reads its context through `current_job()` and its
  Optuna trial through `current_trial()`, whatever launcher runs it.

Public API for apps (the plugin never imports an app; an app may import these):

    from hydra_plugins.seqsweep_plugins import current_job, current_trial, SweepTracker, ConfigError
"""

from hydra_plugins.seqsweep_plugins.engine.best_rule import BestRule, BestSoFar, Candidate
from hydra_plugins.seqsweep_plugins.engine.console import bare_key, quiet_loggers, readable_number, significant
from hydra_plugins.seqsweep_plugins.engine.errors import ConfigError, SweepRefused, first_line, first_sentence, refuse, shown
from hydra_plugins.seqsweep_plugins.engine.executor import ExecutorLauncher, Job, JobEnd, TrialExecutor
from hydra_plugins.seqsweep_plugins.engine.job_context import JobContext, TrialHandle, activated, current_job, current_trial
from hydra_plugins.seqsweep_plugins.engine.lifecycle import SweepStatus
from hydra_plugins.seqsweep_plugins.engine.outcome import TrialState
from hydra_plugins.seqsweep_plugins.engine.secrets import mask_secrets, mask_values
from hydra_plugins.seqsweep_plugins.engine.tracker import SweepEnd, SweepStart, SweepTracker, TrialEnd

__all__ = [
    "BestRule",
    "BestSoFar",
    "Candidate",
    "ConfigError",
    "ExecutorLauncher",
    "Job",
    "JobContext",
    "JobEnd",
    "SweepEnd",
    "SweepRefused",
    "SweepStart",
    "SweepStatus",
    "SweepTracker",
    "TrialEnd",
    "TrialExecutor",
    "TrialHandle",
    "TrialState",
    "activated",
    "bare_key",
    "current_job",
    "current_trial",
    "first_line",
    "first_sentence",
    "mask_secrets",
    "mask_values",
    "quiet_loggers",
    "readable_number",
    "significant",
    "refuse",
    "shown",
]
