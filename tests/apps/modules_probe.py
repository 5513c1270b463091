"""A Hydra callback that writes which heavy modules the sweeping process holds when the sweep ends.

Added to a sweep with `+hydra.callbacks.probe._target_=tests.apps.modules_probe.HeavyModulesAtEnd
+hydra.callbacks.probe.path=OUT.json` (the repository on PYTHONPATH); Hydra calls
`on_multirun_end` in the sweeping process, after the sweeper returned.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

HEAVY = ("tensorflow", "keras", "mlflow", "optuna", "ray")


class HeavyModulesAtEnd(Callback):
    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self.path.write_text(json.dumps({name: name in sys.modules for name in HEAVY}))
