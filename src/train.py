"""Train one model, or a sweep of them, and track every trial in MLflow.

python -m src.train                                   # one run with the defaults
python -m src.train model=lstm data.n_train=1000      # one run, overridden
python -m src.train -m model=simplernn,lstm,gru data.n_train=10,100,25000
python -m src.train +sweeps=main_grid                 # a named preset from sweeps/
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

import src  # noqa: F401  (quiets TensorFlow before it is imported)
from hydra_plugins.seqsweep_plugins import current_job
from src.data.imdb_archive import DataSourceError
from src.errors import ConfigError, StoreError, exit_with_error


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, float]:
    """Hydra entry point: one trial. Returns its metrics dict, which the sweepers read.

    A bad config exits with code 2 and one line. A failing trial raises after its run is
    recorded FAILED: a single run ends with the error, a sweep records the trial FAIL and goes
    on. A trial stopped by the Optuna pruner raises optuna.TrialPruned (its run: KILLED with a
    `pruned_at_epoch` tag).
    """
    # Imported here, not at the top: they import TensorFlow, which `--help` need not wait for.
    from src.trial import run_trial
    from src.validation import validate_config

    try:
        validate_config(cfg)
    except (ConfigError, DataSourceError) as error:
        exit_with_error(error)  # before any MLflow run exists
    try:
        return run_trial(cfg)
    except StoreError as error:
        if current_job() is not None:
            raise  # the sweeper records it as a failure outside the trial and stops the sweep
        exit_with_error(error, code=1)


if __name__ == "__main__":
    main()
