"""What Hydra's plugin scan finds: the three plugins and their config nodes.

Hydra imports, and re-executes, every module under `hydra_plugins/` whose name does not start
with an underscore, at every start, in every process. The role folders (engine/, grid/,
optuna_sweeper/, ray_launcher/) have no `__init__.py`: `pkgutil.walk_packages`, which the scan
uses, does not enter such a folder, so their modules are imported once, when used, and their
state (the current job) and classes are never replaced by a second execution. This module is
the scan's one entry: importing the config modules registers `hydra/sweeper=grid`,
`hydra/sweeper=optuna` (and its `sampler` group) and `hydra/launcher=ray` in Hydra's
ConfigStore; the plugin classes are imported because Hydra instantiates only classes its scan
found. None of these imports Optuna, Ray, TensorFlow or MLflow.
"""

from hydra_plugins.seqsweep_plugins.grid import config as grid_config  # noqa: F401
from hydra_plugins.seqsweep_plugins.grid.sweeper import GridSweeper  # noqa: F401
from hydra_plugins.seqsweep_plugins.optuna_sweeper import config as optuna_config  # noqa: F401
from hydra_plugins.seqsweep_plugins.optuna_sweeper.plugin import OptunaSweeper  # noqa: F401
from hydra_plugins.seqsweep_plugins.ray_launcher import config as ray_config  # noqa: F401
from hydra_plugins.seqsweep_plugins.ray_launcher.launcher import RayLauncher  # noqa: F401
