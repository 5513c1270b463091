"""A Hydra callback that keeps passwords out of each job's `.hydra/` folder.

Hydra writes `config.yaml`, `hydra.yaml` and `overrides.yaml` of every job before the job starts,
with every command-line override as typed: a password in a storage or tracking URL given on the
command line would be stored in each of them. Enable it in the app's config:

    hydra:
      callbacks:
        mask_secrets:
          _target_: hydra_plugins.seqsweep_plugins.engine.job_files.MaskSecretsInJobFiles
"""

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from hydra_plugins.seqsweep_plugins.engine.secrets import mask_secrets

JOB_FILES = ("config.yaml", "hydra.yaml", "overrides.yaml")


class MaskSecretsInJobFiles(Callback):
    """Rewrites the job's `.hydra/*.yaml` with passwords masked, right after Hydra wrote them."""

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        subdir = config.hydra.output_subdir
        if subdir is None:
            return
        folder = Path(str(config.hydra.runtime.output_dir)) / str(subdir)
        for name in JOB_FILES:
            path = folder / name
            if path.is_file():
                text = path.read_text()
                masked = mask_secrets(text)
                if masked != text:
                    path.write_text(masked)
