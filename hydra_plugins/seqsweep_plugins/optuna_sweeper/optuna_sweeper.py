"""The Sweeper class Hydra finds; the work is in `_impl.py`, imported only when it is used."""

from typing import Any, List, Optional

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class OptunaSweeper(Sweeper):
    """Hydra sweeper running an Optuna study: `python -m src.train -m hydra/sweeper=optuna ...`."""

    def __init__(self, **options: Any) -> None:
        from hydra_plugins.seqsweep_plugins.optuna_sweeper._impl import OptunaSweeperImpl

        self.sweeper = OptunaSweeperImpl(**options)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Optional[Any]:
        return self.sweeper.sweep(arguments)
