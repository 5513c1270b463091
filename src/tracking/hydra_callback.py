"""Hydra callback owning a multirun's MLflow parent run and its closing comparison table."""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import mlflow
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from src.tracking.store import PARENT_RUN_ENV, connect
from src.tracking.summary import sweep_table


class MlflowSweepCallback(Callback):
    """Creates the parent run when the first trial starts and closes it after the last.

    The parent is created at the first trial, not at multirun start, so a sweep refused by
    validation leaves no run behind. Trials find it through an environment variable. If
    the multirun dies, the parent is closed as FAILED at interpreter exit so no run stays
    RUNNING.
    """

    def __init__(self) -> None:
        self.parent_run_id: str | None = None
        self.sweep_config: DictConfig | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.sweep_config = config

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if self.sweep_config is None or self.parent_run_id is not None:
            return  # a single run, or the parent exists already
        config = self.sweep_config
        experiment_id = connect(config.tracking)
        overrides = " ".join(config.hydra.overrides.task)
        run = mlflow.MlflowClient().create_run(
            experiment_id,
            run_name=f"sweep {config.hydra.sweep.dir.split('multirun/')[-1]}",
            tags={"sweep": "true", "sweep_overrides": overrides, "sweep_dir": str(config.hydra.sweep.dir)},
        )
        self.parent_run_id = run.info.run_id
        os.environ[PARENT_RUN_ENV] = self.parent_run_id
        atexit.register(self._close_if_open, "FAILED")
        print(f"[sweep] MLflow parent run {self.parent_run_id} in experiment '{config.tracking.experiment_name}'")

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.parent_run_id is None:
            return
        table = sweep_table(self.parent_run_id)
        if not table.empty:
            print("\n" + table.to_string(index=False))
            mlflow.MlflowClient().log_text(self.parent_run_id, table.to_csv(index=False), "sweep_summary.csv")
            self._log_plots()
        self._close_if_open("FINISHED")

    def _log_plots(self) -> None:
        """The comparison PNGs as artifacts under plots/ of the parent run.

        The trials are recorded already, so a plotting bug must not fail the sweep; it is
        reported on stderr and as the parent's `plots_error` tag instead of passing silently.
        """
        # Imported here: matplotlib and scipy add about a second to every start of src.train,
        # and only the end of a multirun needs them.
        from src.reporting.report import load_sweep, write_plots

        client = mlflow.MlflowClient()
        try:
            with tempfile.TemporaryDirectory() as folder:
                written, skipped = write_plots(load_sweep(self.parent_run_id), Path(folder))
                for path in written:
                    client.log_artifact(self.parent_run_id, str(path), "plots")
            print(f"[sweep] plots on the parent run: {', '.join('plots/' + p.name for p in written) or 'none'}"
                  + "".join(f"; skipped {line}" for line in skipped), flush=True)
        except Exception as error:  # noqa: BLE001 - reported below, not swallowed
            message = f"{type(error).__name__}: {error}"
            print(f"[sweep] warning: could not draw the sweep plots: {message}", file=sys.stderr, flush=True)
            client.set_tag(self.parent_run_id, "plots_error", message[:5000])

    def _close_if_open(self, status: str) -> None:
        if self.parent_run_id is None:
            return
        client = mlflow.MlflowClient()
        if client.get_run(self.parent_run_id).info.status == "RUNNING":
            client.set_terminated(self.parent_run_id, status)
        os.environ.pop(PARENT_RUN_ENV, None)
        self.parent_run_id = None
