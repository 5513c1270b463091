"""The class Hydra instantiates for `hydra/sweeper=optuna`: a shell over sweeper.py.

Hydra instantiates only plugin classes its scan found (registration.py imports this one), and
the scan runs at every start of every Hydra app; the shell keeps Optuna (about half a second
to import) out of starts that never sweep with it.
"""

from typing import Any, List, Optional

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class OptunaSweeper(Sweeper):
    """Hydra sweeper running an Optuna study: `python -m src.train -m hydra/sweeper=optuna ...`."""

    def __init__(self, **options: Any) -> None:
        from hydra_plugins.seqsweep_plugins.optuna_sweeper.sweeper import OptunaStudySweeper

        self.sweeper = OptunaStudySweeper(**options)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Optional[Any]:
        return self.sweeper.sweep(arguments)
