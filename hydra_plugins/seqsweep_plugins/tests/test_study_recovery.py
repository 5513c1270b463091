"""A resumed study runs again the trials a stopped sweeping process left RUNNING, and only those."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import optuna
from optuna.trial import TrialState

from hydra_plugins.seqsweep_plugins.optuna_sweeper.study import INFRASTRUCTURE, recover_abandoned_trials


def test_trials_left_running_unnamed_or_by_a_gone_process_run_again_and_a_live_ones_stays(tmp_path) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=storage, study_name="s")
    host = socket.gethostname()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    unnamed = study.ask()  # the store went away inside the ask, before the sweep named itself on it
    dead = study.ask()
    dead.set_user_attr("worker", f"{host}:{gone.strip()}")
    live = study.ask()
    live.set_user_attr("worker", f"{host}:{os.getppid()}")  # another sweeping process, still running

    lines = recover_abandoned_trials(study, storage)

    states = {t.number: t.state for t in study.get_trials(deepcopy=False)}
    assert states[unnamed.number] == states[dead.number] == TrialState.FAIL
    assert states[live.number] == TrialState.RUNNING
    for number in (unnamed.number, dead.number):
        assert study.trials[number].user_attrs["failure"] == INFRASTRUCTURE
    # Each runs again: a rerun waits in the study for the next ask.
    assert len(study.get_trials(states=(TrialState.WAITING,))) == 2
    assert lines == [
        f"trial #{unnamed.number} was left RUNNING by a sweep that stopped while asking it: marked FAIL, it runs again",
        f"trial #{dead.number} was left RUNNING by a process that is gone ({host}:{gone.strip()}): marked FAIL, it runs again",
    ]
