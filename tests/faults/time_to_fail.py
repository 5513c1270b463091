"""Measure how long each store fault takes to be reported (the table in docs/faults.md).

    python tests/faults/time_to_fail.py      # as root: also mounts a 256 KiB tmpfs

Each fault runs `connect()` and a first run in a fresh process, as a sweep starts; the time
is the process's whole life (Python and MLflow imports included, about 3 s here).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.faults.test_stores import (
    _limit_file_size,
    _without_permission_override,
    connect_once,
    error_lines,
)
from tests.fixtures import free_loopback_port


def timed(name: str, uri: str, home: Path, preexec=None) -> None:
    start = time.perf_counter()
    code, _, err = connect_once(uri, home, preexec=preexec, timeout=600)
    seconds = time.perf_counter() - start
    line = (error_lines(err) or ["(no error line)"])[0]
    print(f"| {name} | `{line}` | {code} | {seconds:.1f} |", flush=True)


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="seqsweep-faults-"))
    print("| fault | what the user sees | exit code | seconds |\n|---|---|---|---|")
    timed("full disk (RLIMIT_FSIZE 200 kB)", f"sqlite:///{root / 'a' / 'mlflow.db'}", root, _limit_file_size(200_000))
    small = root / "small"
    small.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(small)], capture_output=True, check=False
        ).returncode
        == 0
    ):
        try:
            timed("full disk (256 KiB tmpfs)", f"sqlite:///{small / 'mlflow.db'}", root)
        finally:
            subprocess.run(["umount", str(small)], check=True)
    readonly = root / "ro"
    connect_once(f"sqlite:///{readonly / 'mlflow.db'}", root)
    for path in readonly.iterdir():
        path.chmod(0o444)
    readonly.chmod(0o555)
    timed(
        "read-only folder",
        f"sqlite:///{readonly / 'mlflow.db'}",
        root,
        _without_permission_override if os.geteuid() == 0 else None,
    )
    readonly.chmod(0o755)
    corrupt = root / "corrupt" / "mlflow.db"
    corrupt.parent.mkdir()
    corrupt.write_bytes(os.urandom(65536))
    timed("corrupt mlflow.db", f"sqlite:///{corrupt}", root)
    port = free_loopback_port()
    timed("tracking server down (connection refused)", f"http://user:secret@127.0.0.1:{port}", root)
    timed("PostgreSQL down (connection refused)", f"postgresql+psycopg://user:secret@127.0.0.1:{port}/mlflow", root)
    # A server that accepts connections and never answers (hung, or behind a dropping
    # firewall): every attempt waits for its timeout. (This sandbox answers any outside
    # address itself, so a local listener that never reads stands in for it.)
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)
        hung_port = hung.getsockname()[1]
        timed("tracking server hangs (never answers)", f"http://user:secret@127.0.0.1:{hung_port}", root)
        timed("PostgreSQL hangs (never answers)", f"postgresql+psycopg://user:secret@127.0.0.1:{hung_port}/mlflow", root)


if __name__ == "__main__":
    main()
