"""The sweep's best, end to end: every trial validated on one set, the same best named (with its
size) by the progress line, best_trial.json and the parent run; none named from tiny splits."""

from __future__ import annotations

import json
import re

import mlflow
import pytest

TINY = ["trainer.epochs=1", "model.units=4", "model.embedding_dim=8", "data.num_words=500", "data.maxlen=20"]
BEST = re.compile(r"best val_acc=(\d\.\d{4}) \(n_val=(\d+)\)$")


def _parent(runs):
    return runs[runs["tags.mlflow.parentRunId"].isna()].iloc[0]


@pytest.mark.slow
def test_a_fixed_validation_set_gives_one_fingerprint_and_one_best_everywhere(run_cli, store_runs):
    done = run_cli("-m", "model=simplernn,lstm,gru", "data.n_train=100,200", "trainer.validation_size=100", *TINY)
    ends = [line for line in done.stdout.splitlines() if re.match(r"^\[\d/6\]", line)]
    shown = BEST.search(ends[-1])
    assert shown and shown[2] == "100", ends[-1]
    runs = store_runs()
    trials = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert len(trials) == 6 and trials["tags.validation_fingerprint"].nunique() == 1
    assert set(trials["metrics.n_val"]) == {100.0} and set(trials["tags.validation"]) == {"fixed"}
    parent = _parent(runs)
    best = json.loads(mlflow.artifacts.load_text(f"runs:/{parent['run_id']}/best_trial.json"))
    assert best["n_val"] == 100 and best["validation_fingerprint"] == trials["tags.validation_fingerprint"].iloc[0]
    assert f"{best['val_acc']:.4f}" == shown[1] == f"{parent['metrics.best_val_acc']:.4f}"
    assert parent["params.best_trial"] == str(best["trial"]) and parent["params.best_n_val"] == "100"
    named = trials[trials["tags.sweep_trial"] == str(best["trial"])].iloc[0]
    assert named["metrics.val_acc"] == pytest.approx(best["val_acc"])
    assert trials["metrics.val_acc"].max() == pytest.approx(best["val_acc"])


@pytest.mark.slow
def test_splits_of_2_and_20_reviews_name_no_best(run_cli, store_runs):
    done = run_cli("-m", "model=lstm,gru", "data.n_train=10,100", "trainer.validation=split", *TINY)
    assert "best val_acc" not in done.stdout
    assert "[sweep] no best trial: no trial was measured on 100 or more examples (n_val: 2, 20;" in done.stdout
    parent = _parent(store_runs())
    assert parent["tags.no_best_trial"].startswith("no trial was measured on 100 or more examples")
    assert "metrics.best_val_acc" not in parent or parent["metrics.best_val_acc"] != parent["metrics.best_val_acc"]
    assert not [a.path for a in mlflow.MlflowClient().list_artifacts(parent["run_id"]) if a.path == "best_trial.json"]
