"""The MLflow side of a sweep, called by the sweepers in the sweeping process (never in a worker).

Named in conf/config.yaml as `hydra.sweeper.tracker`. At sweep start (after every point was
checked, before the first trial) it closes what dead sweeps left RUNNING, creates the parent run
and hands its id to every job; when a trial's worker is lost it closes that trial's run; at the
end it prints the comparison table, logs the summary, the best trial and the plots on the parent
and closes it. Trials create and close their own child runs (src/tracking/trial_run.py).
"""

from __future__ import annotations

import atexit
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
from omegaconf import DictConfig, OmegaConf, open_dict

from hydra_plugins.seqsweep_plugins import (
    ConfigError,
    JobContext,
    SweepEnd,
    SweepRefused,
    SweepStart,
    SweepTracker,
    TrialState,
    mask_secrets,
    significant,
)
from hydra_plugins.seqsweep_plugins.engine.owners import THIS_PROCESS, process_is_gone
from src.tracking.params import flatten_config
from src.tracking.store import connect, describe_cause
from src.tracking.summary import sweep_table
from src.tracking.ui_links import MAX_COMPARED_RUNS, compare_url, ui_base

if TYPE_CHECKING:
    from src.reporting.report import SweepReport

OWNER = THIS_PROCESS


class MlflowSweepTracker(SweepTracker):
    """One parent run per sweeping process, grouping the trial runs of its sweep."""

    # A grid sweep can resume an unfinished parent run (hydra.sweeper.resume).
    keeps_records = True

    def __init__(self) -> None:
        self.parent_run_id: str | None = None
        self.client: mlflow.MlflowClient | None = None
        self.resumed: tuple[list[list[str]], int] = ([], 0)
        self.ui_url: str | None = None

    def on_sweep_start(self, sweep: SweepStart) -> dict[str, Any]:
        experiment_id = connect(sweep.config.tracking)
        self.ui_url = sweep.config.tracking.get("ui_url")
        self.client = mlflow.MlflowClient()
        closed = close_dead_sweeps(self.client, experiment_id)
        if closed:
            print(f"[sweep] closed {closed} run(s) that a sweep whose process is gone had left RUNNING", flush=True)
        tags = {
            "sweep": "true",
            "sweep_owner": OWNER,
            "sweeper": sweep.sweeper,
            "sweep_dir": sweep.sweep_dir,
            "sweep_varying": ", ".join(sweep.varying),
            "sweep_overrides": mask_secrets(" ".join(sweep.fixed)),
            "sweep_objectives": ",".join(sweep.objectives),
            "sweep_directions": ",".join(sweep.directions),
        }
        if sweep.study:
            tags.update(
                {
                    "optuna_study": sweep.study["name"],
                    "optuna_storage": sweep.study["storage"],
                    "optuna_sampler": sweep.study["sampler"],
                }
            )
        if sweep.sweep_key:
            tags["sweep_key"] = sweep.sweep_key
        unfinished = self._unfinished(experiment_id, sweep.sweep_key)
        run = self._resumed_parent(unfinished, sweep.resume) if sweep.resume not in (None, "never") else None
        if run is None:
            if unfinished and sweep.resume is None:
                last = unfinished[0]
                raise SweepRefused(
                    f"an unfinished sweep of this command exists: parent '{last.info.run_name}' ({last.info.run_id}), "
                    f"{len(self._finished_children(last.info.run_id))} trial(s) finished; resume it with hydra.sweeper.resume=last "
                    "(only the missing points run), or start a new sweep with hydra.sweeper.resume=never"
                )
            run = self.client.create_run(
                experiment_id, run_name=self._unique_name(experiment_id, display_label(sweep)), tags=tags
            )
            self.client.log_batch(
                run.info.run_id, params=[mlflow.entities.Param(k, v) for k, v in shared_settings(sweep).items()]
            )
        else:
            self.client.update_run(run.info.run_id, status="RUNNING")
            self.client.set_tag(run.info.run_id, "sweep_owner", OWNER)
            children = self._children(run.info.run_id)
            finished = [
                c.data.tags["sweep_point"].split(" ")
                for c in children
                if c.info.status == "FINISHED" and "sweep_point" in c.data.tags
            ]
            numbers = [int(c.data.tags.get("sweep_trial", -1)) for c in children]
            self.resumed = (finished, max(numbers, default=-1) + 1)
        self.parent_run_id = run.info.run_id
        atexit.register(self._close_if_open, "FAILED")
        print(
            f"[sweep] MLflow parent run '{run.info.run_name}' ({self.parent_run_id}) in experiment '{sweep.config.tracking.experiment_name}'",
            flush=True,
        )
        return {"mlflow_parent_run_id": self.parent_run_id, "mlflow_parent_run_name": run.info.run_name}

    def resume_state(self) -> tuple[list[list[str]], int]:
        return self.resumed

    def on_trial_lost(self, job: JobContext, reason: str, interrupted: bool) -> None:
        """Close the lost trial's run (its worker cannot): KILLED when the sweep was stopped, else FAILED.

        Stopped by the sweep's signal, a run the trial itself closed as FAILED is KILLED too: the
        error it recorded was the signal, wrapped by a library (see the loop's SignalLatch).
        A worker can also die after its trial closed the run (FINISHED, or KILLED by the pruner)
        but before the result reached the sweeper: the study records that trial lost and runs it
        again, so its run says FAILED as well (the tag `ended_before_lost` keeps the worker's end),
        or the store would hold a finished trial the sweep never counted beside its rerun.
        """
        statuses = ("RUNNING", "FAILED") if interrupted else ("RUNNING", "FINISHED", "KILLED")
        for run in (r for status in statuses for r in self._trial_runs(job.number, status=status)):
            if run.info.status != "RUNNING" and not interrupted:
                self.client.set_tag(run.info.run_id, "ended_before_lost", run.info.status)
            self.client.set_tag(run.info.run_id, "error", mask_secrets(reason)[:5000])
            self.client.set_terminated(run.info.run_id, "KILLED" if interrupted else "FAILED")

    def on_sweep_end(self, end: SweepEnd) -> None:
        if self.parent_run_id is None:
            return
        try:
            self._record_end(end)
        except (mlflow.exceptions.MlflowException, OSError) as error:  # OSError: requests' connection errors
            # The store broke (what often ended the sweep): one line, and the sweep's own closing
            # lines follow; the next command on the store closes the parent run.
            print(
                f"[sweep] warning: could not record the sweep's end in the store: {describe_cause(error)}",
                file=sys.stderr,
                flush=True,
            )
            self.parent_run_id = None

    def _record_end(self, end: SweepEnd) -> None:
        table = sweep_table(self.parent_run_id)
        if not table.empty:
            note = table.attrs.get("note")
            shown = table.to_string(index=False, float_format=significant)
            print("\n" + shown + (f"\n{note}" if note else ""), flush=True)
            self.client.log_text(self.parent_run_id, table.to_csv(index=False), "sweep_summary.csv")
            report = self._log_plots()
            if report is not None:
                self._link_compare_view(list(report.trials["run_id"]))
        self._log_results(end)
        self._close_if_open(end.status.value)

    # -- helpers ------------------------------------------------------------------------------

    def _unique_name(self, experiment_id: str, label: str) -> str:
        """`imdb_optuna 11-24 15:30:07`, with a suffix when another sweep started in the same second."""
        name = f"{label} {time.strftime('%m-%d %H:%M:%S')}"
        taken = {
            r.info.run_name
            for r in self.client.search_runs([experiment_id], filter_string=f"attributes.run_name LIKE '{name}%'")
        }
        suffix = 2
        unique = name
        while unique in taken:
            unique, suffix = f"{name} ({suffix})", suffix + 1
        return unique

    def _unfinished(self, experiment_id: str, key: str) -> list[Any]:
        """Parents of earlier runs of this grid command that did not finish (their process is gone), newest first."""
        if not key:
            return []
        return self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.sweep_key = '{key}' and attributes.status != 'FINISHED' and attributes.status != 'RUNNING'",
            order_by=["attributes.start_time DESC"],
        )

    def _resumed_parent(self, unfinished: list[Any], resume: str) -> Any:
        if resume != "last":
            try:
                run = self.client.get_run(resume)
            except mlflow.exceptions.MlflowException:
                raise ConfigError(
                    "hydra.sweeper.resume", resume, "last, never, or the id of a sweep's parent run in this store"
                ) from None
            if run.data.tags.get("sweep") != "true":
                raise ConfigError("hydra.sweeper.resume", resume, "the id of a sweep's parent run (this run is a trial)")
            return run
        if not unfinished:
            print("[sweep] hydra.sweeper.resume=last: no unfinished sweep of this command; starting a new one", flush=True)
            return None
        return unfinished[0]

    def _children(self, parent_run_id: str) -> list[Any]:
        parent = self.client.get_run(parent_run_id)
        return self.client.search_runs(
            [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'", max_results=50000
        )

    def _finished_children(self, parent_run_id: str) -> list[Any]:
        return [run for run in self._children(parent_run_id) if run.info.status == "FINISHED"]

    def _trial_runs(self, number: int, status: str) -> list[Any]:
        parent = self.client.get_run(self.parent_run_id)
        return self.client.search_runs(
            [parent.info.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{self.parent_run_id}' and tags.sweep_trial = '{number}' and attributes.status = '{status}'",
        )

    def _log_results(self, end: SweepEnd) -> None:
        # COMPLETE, PRUNED, FAIL (the trial's own), LOST (its worker died) as the UI's column names.
        names = {
            TrialState.COMPLETE: "trials_finished",
            TrialState.PRUNED: "trials_pruned",
            TrialState.FAIL: "trials_failed",
            TrialState.LOST: "trials_lost",
        }
        metrics = {
            "trials": sum(end.counts.values()),
            **{names[k]: v for k, v in end.counts.items()},
            "wall_seconds": round(end.seconds, 2),
        }
        if end.best and len(end.objectives) == 1:
            best = end.best[0]
            metrics[f"best_{end.objectives[0]}"] = float(best[end.objectives[0]])
            params = {f"best_{k}": str(v)[:6000] for k, v in best.items() if k not in {end.objectives[0], "mlflow_run_id"}}
            logged = self.client.get_run(self.parent_run_id).data.params
            if any(k in logged for k in params):
                # A resumed sweep's parent already holds the first part's best; MLflow params never change.
                self.client.log_batch(self.parent_run_id, tags=[mlflow.entities.RunTag(k, v) for k, v in params.items()])
            else:
                self.client.log_batch(self.parent_run_id, params=[mlflow.entities.Param(k, v) for k, v in params.items()])
            self.client.log_text(self.parent_run_id, json.dumps(best, indent=2, default=str), "best_trial.json")
        elif end.best:
            import pandas as pd

            self.client.log_text(self.parent_run_id, pd.DataFrame(end.best).to_csv(index=False), "pareto_front.csv")
            self.client.set_tag(self.parent_run_id, "pareto_front_trials", ",".join(str(row["trial"]) for row in end.best))
        self.client.log_batch(
            self.parent_run_id,
            metrics=[mlflow.entities.Metric(k, float(v), int(time.time() * 1000), 0) for k, v in metrics.items()],
        )
        if end.message:
            self.client.set_tag(self.parent_run_id, "sweep_message", mask_secrets(end.message)[:5000])
        if end.no_best:
            # Said instead of naming a best chosen on too few, or on different, validation examples.
            self.client.set_tag(self.parent_run_id, "no_best_trial", end.no_best[:5000])

    def _link_compare_view(self, ids: list[str]) -> None:
        """Print, and tag on the parent as `compare_url`, the UI's compare view of the trials `ids` (launch order)."""
        if not ids:
            return
        experiment_id = self.client.get_run(self.parent_run_id).info.experiment_id
        base = ui_base(self.ui_url, mlflow.get_tracking_uri())
        url = compare_url(mask_secrets(base), experiment_id, ids)
        self.client.set_tag(self.parent_run_id, "compare_url", url)
        shown = f"the first {MAX_COMPARED_RUNS} of {len(ids)}" if len(ids) > MAX_COMPARED_RUNS else f"all {len(ids)}"
        print(f"[sweep] compare {shown} trials in MLflow's UI: {url}", flush=True)

    def _log_plots(self) -> SweepReport | None:
        """The result table as the parent run's description, and the comparison PNGs and
        report.html under plots/; returns the sweep as read for them (None when it could not be read).

        The trials are recorded already, so a plotting bug must not fail the sweep; it is
        reported on stderr and as the parent's `plots_error` tag instead of passing silently.
        """
        # Imported here: matplotlib, scipy and plotly add about a second to every start of src.train.
        from src.reporting.html_report import write_html_report
        from src.reporting.overview import result_markdown
        from src.reporting.report import load_sweep, write_plots

        report = None
        try:
            report = load_sweep(self.parent_run_id)
            # The parent's description: MLflow shows it first on the run's overview page.
            self.client.set_tag(self.parent_run_id, "mlflow.note.content", result_markdown(report))
            with tempfile.TemporaryDirectory() as folder:
                written, skipped = write_plots(report, Path(folder))
                # Next to the PNGs (MLflow previews those): the interactive page of the same sweep.
                written.append(write_html_report(report, Path(folder)))
                for path in written:
                    self.client.log_artifact(self.parent_run_id, str(path), "plots")
            print(
                f"[sweep] plots on the parent run: {', '.join('plots/' + p.name for p in written) or 'none'}"
                + "".join(f"; skipped {line}" for line in skipped),
                flush=True,
            )
        except Exception as error:  # noqa: BLE001 - reported below, not swallowed
            message = f"{type(error).__name__}: {error}"
            print(f"[sweep] warning: could not draw the sweep plots: {message}", file=sys.stderr, flush=True)
            self.client.set_tag(self.parent_run_id, "plots_error", message[:5000])
        return report

    def _close_if_open(self, status: str) -> None:
        if self.parent_run_id is None:
            return
        parent_run_id, self.parent_run_id = self.parent_run_id, None
        try:
            if self.client.get_run(parent_run_id).info.status == "RUNNING":
                self.client.set_terminated(parent_run_id, status)
        except (mlflow.exceptions.MlflowException, OSError) as error:
            print(
                f"[sweep] warning: could not close the parent run {parent_run_id}: {describe_cause(error)}",
                file=sys.stderr,
                flush=True,
            )


def display_label(sweep: SweepStart) -> str:
    """The preset's name, or (a command-line sweep) what it varies: `model x data.n_train`."""
    if sweep.label != OmegaConf.select(sweep.config, "hydra.job.name") or not sweep.varying:
        return sweep.label
    return " x ".join(sweep.varying)


def shared_settings(sweep: SweepStart) -> dict[str, str]:
    """The settings every trial of the sweep shares: the master config's leaves minus the varying keys."""
    cfg: DictConfig = OmegaConf.create(OmegaConf.to_container(sweep.config, resolve=False))
    with open_dict(cfg):
        cfg.pop("hydra", None)
    try:
        flat = flatten_config(cfg)
    except Exception:  # noqa: BLE001 - an interpolation only a trial can resolve: log the unresolved leaves
        flat = {}
    return {
        k: mask_secrets(v)[:6000]
        for k, v in flat.items()
        if not any(k == key or k.startswith(key + ".") for key in sweep.varying)
    }


def close_dead_sweeps(client: mlflow.MlflowClient, experiment_id: str) -> int:
    """Close the RUNNING parent runs of this machine whose sweeping process is gone (KILLED), and
    their RUNNING trial runs (FAILED). Returns how many runs were closed."""
    closed = 0
    parents = client.search_runs([experiment_id], filter_string="tags.sweep = 'true' and attributes.status = 'RUNNING'")
    for parent in parents:
        owner = parent.data.tags.get("sweep_owner", "")
        if not process_is_gone(owner):
            continue
        children = client.search_runs(
            [experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}' and attributes.status = 'RUNNING'",
        )
        for child in children:
            client.set_tag(
                child.info.run_id, "error", f"its sweep process ({owner}) died; closed by the next sweep on this store"
            )
            client.set_terminated(child.info.run_id, "FAILED")
        client.set_tag(
            parent.info.run_id, "error", f"its sweep process ({owner}) died; closed by the next sweep on this store"
        )
        client.set_terminated(parent.info.run_id, "KILLED")
        closed += 1 + len(children)
    return closed
