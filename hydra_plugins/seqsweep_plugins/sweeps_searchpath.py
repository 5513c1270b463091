"""Makes the project's `sweeps/` folder a config group: `python -m src.train +sweeps=<name>`."""

from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SweepsSearchPathPlugin(SearchPathPlugin):
    """Adds the project root, so its `sweeps/*.yaml` compose as the `sweeps` group from any working directory."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(provider="seqsweep-sweeps", path=f"file://{PROJECT_ROOT}")
