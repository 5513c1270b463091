"""Train one model, or a sweep of them, and track every trial in MLflow.

python -m src.train                                   # one run with the defaults
python -m src.train model=lstm data.n_train=1000      # one run, overridden
python -m src.train -m model=simplernn,lstm,gru data.n_train=10,100,25000
python -m src.train +sweeps=main_grid                 # a named preset from sweeps/
python -m src.train -m model=lstm,gru hydra.sweeper.dry_run=true   # check and list the points only
"""

from __future__ import annotations

import os
import signal
import sys


def _stop_at_once(signum: int, frame: object) -> None:
    """Ctrl-C before a run or a sweep has begun: nothing is recorded yet, so end here. Raising
    KeyboardInterrupt instead would unwind through Hydra's composition, where OmegaConf's flag
    restore can turn it into another error with a traceback."""
    try:
        sys.stdout.flush()
    except (OSError, RuntimeError, ValueError):  # interrupted mid-write, or a closed stream: exit anyway
        pass
    os.write(2, f"error: stopped by {signal.Signals(signum).name}\n".encode())
    os._exit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _stop_at_once)

import hydra  # noqa: E402  (after the handler: these imports take about a second)
from omegaconf import DictConfig  # noqa: E402

import src  # noqa: E402, F401  (quiets TensorFlow before it is imported)
from hydra_plugins.seqsweep_plugins import current_job, refuse  # noqa: E402
from src.command_line import hydra_errors_in_one_line, refuse_command_line_mistakes  # noqa: E402
from src.data.imdb_archive import DataSourceError  # noqa: E402
from src.errors import ConfigError, StoreError  # noqa: E402


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, float]:
    """Hydra entry point: one trial. Returns its metrics dict, which the sweepers read.

    A bad config exits with code 2 and one line. A failing trial raises after its run is
    recorded FAILED: a single run ends with the error, a sweep records the trial FAIL and goes
    on. A trial stopped by the Optuna pruner raises optuna.TrialPruned (its run: KILLED with a
    `pruned_at_epoch` tag).
    """
    from src.validation import validate_config

    _interrupt_from_here()
    try:
        validate_config(cfg)
    except (ConfigError, DataSourceError) as error:
        refuse(error)  # before any MLflow run exists
    if _dry_run():
        print(f"[run] dry run: {_point()}: every setting checked; nothing was trained or recorded", flush=True)
        return {}
    # Imported once the config is known good: it imports TensorFlow, which a mistake need not wait for.
    from src.trial import run_trial

    try:
        return run_trial(cfg)
    except StoreError as error:
        if current_job() is not None:
            raise  # the sweeper records it as a failure outside the trial and stops the sweep
        refuse(error, code=1)


def _interrupt_from_here() -> None:
    """A single run: from here Ctrl-C raises KeyboardInterrupt, so its run is recorded KILLED. In a
    sweep the sweeper's own handler is in place (it holds or raises the signal) and stays."""
    if signal.getsignal(signal.SIGINT) is _stop_at_once:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _dry_run() -> bool:
    """`hydra.sweeper.dry_run=true` on a single run (a sweep's dry run ends in the sweeper, before any job)."""
    from hydra.core.hydra_config import HydraConfig

    return bool(HydraConfig.initialized() and HydraConfig.get().sweeper.get("dry_run", False))


def _point() -> str:
    from hydra.core.hydra_config import HydraConfig

    overrides = [text for text in HydraConfig.get().overrides.task if not text.lstrip("+~").startswith("hydra.")]
    return " ".join(overrides) or "the defaults"


def _run() -> None:
    """The command. Ctrl-C in a single run ends it with one line and exit code 130 (Python's own
    KeyboardInterrupt is a traceback), its run recorded KILLED; before the run, _stop_at_once."""
    try:
        refuse_command_line_mistakes(sys.argv[1:])
        with hydra_errors_in_one_line():
            main()
    except KeyboardInterrupt:
        print("error: stopped by SIGINT", file=sys.stderr, flush=True)
        sys.exit(130)


if __name__ == "__main__":
    _run()
