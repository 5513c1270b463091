"""What a sweep hands to each of its jobs (see _job.py); the names apps and launchers import."""

from hydra_plugins.seqsweep_plugins._job import JobContext, TrialHandle, activated, current_job, current_trial

__all__ = ["JobContext", "TrialHandle", "activated", "current_job", "current_trial"]
