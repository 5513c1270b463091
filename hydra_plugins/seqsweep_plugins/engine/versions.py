"""What code a process runs: package versions and the git commit of its checkout.

The Ray workers report it so the sweeper can warn when nodes differ; the app tags each trial
run with it. Both read it here.
"""

from __future__ import annotations

import functools
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path

# Distributions whose versions decide whether two nodes train alike.
REPORTED_PACKAGES = ("tensorflow", "keras", "optuna", "mlflow", "ray", "hydra-core")


def package_versions(names: tuple[str, ...] = REPORTED_PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _git(folder: Path | str, *arguments: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), *arguments], check=False, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def git_commit(folder: Path | str | None, mark_changes: bool = False) -> str | None:
    """HEAD of the checkout holding `folder` (None outside one); `mark_changes`: `-dirty` when tracked files changed."""
    if folder is None:
        return None
    head = _git(folder, "rev-parse", "HEAD")
    if not head or not mark_changes:
        return head or None
    changes = _git(folder, "status", "--porcelain", "--untracked-files=no")
    return head + ("-dirty" if changes else "")


@functools.lru_cache(maxsize=8)
def node_info(code_folder: str | None) -> dict[str, str | None]:
    """Host, Python and package versions of this process, and the git commit of the code it runs."""
    return {
        "host": socket.gethostname(),
        "python": platform.python_version(),
        **package_versions(),
        "git_commit": git_commit(code_folder, mark_changes=True),
    }
