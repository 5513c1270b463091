"""The process that composes, checks and schedules a Ray sweep stays light: TensorFlow and Keras
are imported by the workers that train, never by it (issue: start fast, scale flat)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fixtures.tiny_trial import TINY_TRIAL

ROOT = Path(__file__).resolve().parents[1]
TINY = ["model=simplernn,gru", *TINY_TRIAL, "trainer.epochs=1"]


def probe(path: Path) -> list[str]:
    return [
        "+hydra.callbacks.probe._target_=tests.apps.modules_probe.HeavyModulesAtEnd",
        f"+hydra.callbacks.probe.path={path}",
    ]


@pytest.mark.slow
@pytest.mark.starts_ray
def test_a_ray_sweep_warms_its_workers_and_its_sweeping_process_never_imports_tensorflow(run_cli, store_runs, tmp_path):
    extra_env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = run_cli(
        "-m",
        *TINY,
        "hydra/launcher=ray",
        "+hydra.launcher.init_kwargs.num_cpus=2",
        *probe(tmp_path / "m.json"),
        extra_env=extra_env,
    )
    held = json.loads((tmp_path / "m.json").read_text())
    assert not held["tensorflow"] and not held["keras"], done.stdout[-2000:]
    assert held["ray"] and held["mlflow"]  # the probe sees what the process did import
    runs = store_runs()
    trials = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert sorted(trials["status"]) == ["FINISHED", "FINISHED"]
    # Both first trials (two slots) started on workers that had imported the trial's modules
    # (hydra.sweeper.warm_imports) before them.
    assert list(trials["tags.worker_warm"]) == ["true", "true"], done.stdout[-2000:]
