"""The pruning report travels back from a Ray worker: it must survive pickling."""

import pickle

import optuna

from src.tracking.pruning import TrialPrunedAtEpoch


def test_a_pruned_trial_survives_the_trip_from_a_worker():
    pruned = pickle.loads(pickle.dumps(TrialPrunedAtEpoch(2, "val_acc", 0.5)))
    assert isinstance(pruned, optuna.TrialPruned)
    assert (pruned.epoch, str(pruned)) == (2, "pruned at epoch 2 (val_acc=0.5000)")
