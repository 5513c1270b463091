"""Hydra's basic (grid) sweeper, plus a check of every grid point before the first trial.

Selected by default in conf/config.yaml (`hydra/sweeper: validated_basic`). A bad value
anywhere in the grid stops the command with one line and exit code 2, before any
training and before any MLflow run is created.
"""


import sys
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore
from omegaconf import open_dict

from src.data.imdb_archive import DataSourceError
from src.errors import ConfigError
from src.validation import validate_config


@dataclass
class ValidatedBasicSweeperConf:
    _target_: str = "hydra_plugins.seqsweep_plugins.validated_sweeper.ValidatedBasicSweeper"
    max_batch_size: Optional[int] = None
    params: Optional[Dict[str, str]] = None


ConfigStore.instance().store(group="hydra/sweeper", name="validated_basic", node=ValidatedBasicSweeperConf, provider="seqsweep")


def sweep_point_error(sweeper: Any, overrides: Sequence[str]) -> Optional[str]:
    """Compose one sweep point as its trial will see it and run the project's checks on it:
    None when it can run, else the one-line reason."""
    cfg = sweeper.hydra_context.config_loader.load_sweep_config(master_config=sweeper.config, sweep_overrides=list(overrides))
    with open_dict(cfg):
        cfg.pop("hydra", None)
    try:
        validate_config(cfg)
    except (ConfigError, DataSourceError) as error:
        return f"{error} (in sweep point: {' '.join(overrides)})"
    return None


def validate_overrides(sweeper: Any, overrides: Sequence[str]) -> None:
    """Stop the command with one line and exit code 2 when a sweep point cannot run."""
    error = sweep_point_error(sweeper, overrides)
    if error is not None:
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(2)


class ValidatedBasicSweeper(BasicSweeper):
    """BasicSweeper that validates the whole grid, all batches, before launching the first."""

    _grid_validated = False

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        if not self._grid_validated:
            for every_batch in self.overrides:
                for overrides in every_batch:
                    validate_overrides(self, overrides)
            self._grid_validated = True
        super().validate_batch_is_legal(batch)
