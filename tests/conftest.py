"""Shared fixtures: an IMDB-shaped archive, a private data cache, Hydra's compose API and a runner for the real CLI.

The archive is `$SEQSWEEP_TEST_ARCHIVE` when set (CI sets it to the real mini archive);
otherwise a synthetic one is built once per session, so `python -m pytest` passes on a
fresh clone with nothing beside it.
"""

from __future__ import annotations

import gzip
import html
import io
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import mlflow
import pandas as pd
import psutil
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

# A test run leaves the checkout as it was: no bytecode from here on, in this process and in the
# CLI subprocesses and Ray workers it starts (they inherit the environment). pytest wrote this
# file's own before it ran; `pytest_sessionfinish` removes the __pycache__ folders this run made.
sys.dont_write_bytecode = True
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"


def _bytecode_folders() -> set[Path]:
    found = set()
    for folder, subfolders, _ in os.walk(Path(__file__).resolve().parents[1]):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]  # .git, .venv
        if Path(folder).name == "__pycache__":
            found.add(Path(folder))
    return found


def _made_by_this_run(folder: Path) -> bool:
    return folder.stat().st_mtime >= psutil.Process().create_time() - 1


_BYTECODE_BEFORE = {folder for folder in _bytecode_folders() if not _made_by_this_run(folder)}


def _absl_never_closes_pytests_capture() -> None:
    """absl (imported with TensorFlow) makes a handler holding the sys.stderr of that moment, and
    every `logging.config.dictConfig` (Hydra's, at each in-process job) closes all handlers ever
    made; absl's closes its stream unless it is the current sys.stderr or stdout. In a test
    process that stream is pytest's capture file, so an in-process sweep that reconfigured
    logging while stderr was swapped (capsys, or the CLI holding Hydra's errors back) closed
    the capture, and every later test in that process errored ("I/O operation on closed file",
    seen under pytest-xdist). The process's own stderr is one absl leaves open."""
    from absl import logging as absl_logging

    absl_logging.get_absl_handler().python_handler.setStream(sys.__stderr__)


_absl_never_closes_pytests_capture()


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ANN001 (pytest hook)
    import shutil

    for folder in _bytecode_folders() - _BYTECODE_BEFORE:
        shutil.rmtree(folder, ignore_errors=True)


# Real servers for the tests that need them (PostgreSQL, `mlflow server`), started by fixtures.
pytest_plugins = ["tests.fixtures.postgres", "tests.fixtures.mlflow_server"]

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
# Screenshots the UI tests take, to look at (git-ignored).
# Where the UI tests keep screenshots for people; unset, they go to pytest's temporary folder,
# so a test run leaves the checkout as it was.
ARTIFACTS_VARIABLE = "SEQSWEEP_TEST_ARTIFACTS"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REVIEWS_PER_CLASS = 250  # per split, as in the real mini archive: 500 train + 500 test reviews

# Clearly different vocabularies per class, mixed into shared filler, so that even a tiny
# model learns something; the shared words keep it from being trivially separable.
_POSITIVE = (
    "wonderful superb brilliant moving delightful charming gripping masterful touching stunning "
    "excellent beautiful clever joyful memorable hilarious heartfelt gorgeous inspiring perfect"
).split()
_NEGATIVE = (
    "awful boring dreadful tedious clumsy dull terrible pointless bland lifeless "
    "painful stupid mediocre awkward forgettable messy annoying poor wooden predictable"
).split()
_FILLER = (
    "the a film movie story plot actor actress director scene scenes camera music score script "
    "character characters ending beginning and but with it was is this that of in on to for "
    "watched saw felt thought seemed minutes hour time cast role dialogue sequel"
).split()


def _review(rng: random.Random, words: list[str]) -> str:
    length = rng.randint(30, 160)
    tokens = [rng.choice(words) if rng.random() < 0.25 else rng.choice(_FILLER) for _ in range(length)]
    return " ".join(tokens).capitalize() + "."


def write_synthetic_archive(target: Path, per_class: int = REVIEWS_PER_CLASS, seed: int = 0) -> Path:
    """`aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt` in a .tar.gz, byte-identical for a given seed."""
    rng = random.Random(seed)
    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w") as archive:
            for split in ("train", "test"):
                for label, words, ratings in (("pos", _POSITIVE, (7, 10)), ("neg", _NEGATIVE, (1, 4))):
                    for review_id in range(per_class):
                        text = _review(rng, words).encode("utf-8")
                        member = tarfile.TarInfo(f"aclImdb/{split}/{label}/{review_id}_{rng.randint(*ratings)}.txt")
                        member.size, member.mtime = len(text), 0
                        archive.addfile(member, io.BytesIO(text))
    return target


@pytest.fixture(scope="session")
def mini_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    named = os.environ.get("SEQSWEEP_TEST_ARCHIVE")
    if named:
        if not Path(named).exists():
            pytest.fail(f"SEQSWEEP_TEST_ARCHIVE={named} does not exist; unset it to use a synthetic archive")
        return Path(named).resolve()
    return write_synthetic_archive(tmp_path_factory.mktemp("synthetic-imdb") / "aclImdb_synthetic.tar.gz")


@pytest.fixture(scope="session")
def chromium() -> str:
    """The headless browser the UI screenshot tests drive; they skip where it is not installed
    (`.ci/run` installs it and fails on any skip)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium not installed (Debian: apt-get install -y chromium)")
    return binary


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where UI tests keep their screenshots for people to look at: $SEQSWEEP_TEST_ARTIFACTS, else
    a folder of pytest's temporary directory (its path is printed with `pytest -s`)."""
    folder = (
        Path(os.environ[ARTIFACTS_VARIABLE]) if os.environ.get(ARTIFACTS_VARIABLE) else tmp_path_factory.mktemp("artifacts")
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture()
def browser(chromium: str, tmp_path: Path):
    """`render(url, screenshot=None) -> text`: the page's text after its JavaScript ran (the UIs are
    single-page apps) in headless Chromium with a fresh profile, optionally saving a screenshot."""
    profiles = iter(range(1000))

    def render(url: str, screenshot: Path | None = None) -> str:
        profile = tmp_path / f"chromium-profile-{next(profiles)}"
        profile.mkdir(parents=True)
        shot = []
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.unlink(missing_ok=True)
            shot = [f"--screenshot={screenshot}", "--window-size=1600,1000"]
        done = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=20000", *shot, "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        without_code = re.sub(r"<(script|style)\b.*?</\1>", " ", done.stdout, flags=re.DOTALL)
        return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", without_code)))

    return render


@pytest.fixture()
def page_console(chromium: str, tmp_path: Path):
    """`read(path) -> (console lines, DOM)`: every console message of the local page at `path` and
    its DOM after its scripts ran, in headless Chromium with a fresh profile.

    Chromium logs every console message, error or not, as an `INFO:CONSOLE` line on stderr (it does
    not tell errors apart), so a page meant to be silent is checked for none at all. Software WebGL
    is asked for explicitly: plotly draws parallel coordinates with WebGL, and Chromium's fallback
    to it (with --disable-gpu) writes its own notice onto the page's console."""
    profiles = iter(range(1000))

    def read(path: Path) -> tuple[list[str], str]:
        profile = tmp_path / f"console-profile-{next(profiles)}"
        flags = [f for f in CHROMIUM_FLAGS if f != "--disable-gpu"] + [
            "--use-angle=swiftshader",
            "--enable-unsafe-swiftshader",
        ]
        done = subprocess.run(
            [chromium, *flags, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
            + ["--virtual-time-budget=15000", "--dump-dom", path.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return [line for line in done.stderr.splitlines() if ":CONSOLE" in line], done.stdout

    return read


@pytest.fixture()
def loopback_server(tmp_path: Path):
    """`start(command, ready_path) -> url`: runs a server command (given `{port}`) on 127.0.0.1, waits until
    GET ready_path answers 200, and stops the server and its children after the test."""
    started: list[subprocess.Popen] = []

    def start(command: list[str], ready_path: str) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        log_path = tmp_path / f"server-{len(started)}.log"
        with log_path.open("w") as log:
            server = subprocess.Popen(
                [part.format(port=port) for part in command],
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(server)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while not _answers(url + ready_path):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{command[0]} did not come up on {url}:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        return url

    yield start
    for server in started:
        os.killpg(server.pid, signal.SIGTERM)  # the server and any worker it started
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data cache for the whole session, so the archive is tokenized once."""
    return tmp_path_factory.mktemp("data-cache")


@pytest.fixture()
def compose_config(mini_archive: Path, cache_dir: Path):
    """The config `python -m src.train OVERRIDES` would run, through Hydra's compose API (no subprocess).

    An IMDB config reads the test archive and the session's cache unless the overrides say otherwise.
    """

    def composed(*overrides: str) -> DictConfig:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose(config_name="config", overrides=list(overrides))
        if "source" in cfg.data and cfg.data.source is None:
            cfg.data.source = str(mini_archive)
        if "cache_dir" in cfg.data:
            cfg.data.cache_dir = str(cache_dir)
        return cfg

    return composed


@pytest.fixture()
def run_cli(tmp_path: Path, cache_dir: Path, mini_archive: Path):
    """Run `python -m src.train ARGS data.source=MINI` in a fresh folder with its own ./mlruns store."""

    def run(
        *args: str, check: bool = True, extra_env: dict[str, str] | None = None, source: Path | None = mini_archive
    ) -> subprocess.CompletedProcess:
        env = {**os.environ, "SEQSWEEP_CACHE_DIR": str(cache_dir), **(extra_env or {})}
        env.pop("MLFLOW_TRACKING_URI", None)
        command = [sys.executable, "-m", "src.train", *args, *([f"data.source={source}"] if source else [])]
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        if check and done.returncode != 0:
            pytest.fail(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
        return done

    return run


@pytest.fixture()
def store_runs(tmp_path: Path):
    """Read every run of an experiment from the SQLite store the CLI wrote in tmp_path."""

    def read(experiment: str = "imdb") -> pd.DataFrame:
        mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
        return mlflow.search_runs(experiment_names=[experiment])

    return read
