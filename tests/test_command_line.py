"""A mistyped command line is answered in one line, exit code 2, before TensorFlow is imported.

Each mistake runs the real entry point in a subprocess (about 1 s each); an exit hook prints
whether TensorFlow was imported, so the test sees that the answer did not wait for it. The
accepted lines are checked in-process: the pre-check must never refuse what Hydra would run.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from src.command_line import hydra_error_line, refuse_command_line_mistakes
from tests.conftest import ROOT

# Runs `python -m src.train ARGS` and prints, at exit, whether TensorFlow was imported.
_ENTRY = (
    "import atexit, runpy, sys; "
    "atexit.register(lambda: print('tensorflow imported:', 'tensorflow' in sys.modules)); "
    "sys.argv = ['src.train', *sys.argv[1:]]; runpy.run_module('src.train', run_name='__main__', alter_sys=True)"
)

MISTAKES = [
    (["-m", "model=lstmm,gru"], "error: model=lstmm is not allowed: one of bilstm, cnn, "),
    (["trainer.epoch=1"], "error: trainer.epoch=1 is not allowed: an unknown key (see conf/); did you mean trainer.epochs?"),
    (["+trainer.epochs=1"], "error: +trainer.epochs=1 is not allowed: trainer.epochs is already set; write trainer.epochs=1"),
    (["model.units=-3"], "error: model.units=-3 is not allowed: a whole number > 0"),
    (["-m", "model=lstm,gru", "model.units=-3"], "error: model.units=-3 is not allowed: a whole number > 0 (in sweep point: "),
    (["optimizer.learning_rate=nan"], "error: optimizer.learning_rate=nan is not allowed: a finite number"),
    (["-m", "optimizer.learning_rate=inf,0.1"], "error: optimizer.learning_rate=inf is not allowed: a finite number"),
    (["data.source=/nonexistent/aclImdb.tar.gz"], "error: data.source='/nonexistent/aclImdb.tar.gz' does not exist"),
    (["+sweeps=main_gird"], "error: +sweeps=main_gird is not allowed: one of binary_addition, "),
    (["sweeps=main_grid"], "error: sweeps=main_grid is not allowed: a preset is added, not chosen: write +sweeps=main_grid"),
    # Hydra's own settings: Hydra's error, as one line.
    (
        ["-m", "hydra.sweeper.n_trialz=3"],
        "error: Could not override 'hydra.sweeper.n_trialz': Key 'n_trialz' not in 'GridSweeperConf'",
    ),
    (
        ["-m", "hydra/launcher=rayy"],
        "error: In 'hydra/config': Could not find 'hydra/launcher/rayy'; the options are basic, ray",
    ),
]


@pytest.mark.parametrize(("arguments", "answer"), MISTAKES, ids=[" ".join(m[0]) for m in MISTAKES])
def test_a_mistake_is_one_line_exit_2_without_tensorflow(arguments, answer, tmp_path, mini_archive, cache_dir):
    source = [] if any(a.startswith("data.source=") for a in arguments) else [f"data.source={mini_archive}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SEQSWEEP_CACHE_DIR": str(cache_dir)}
    done = subprocess.run(
        [sys.executable, "-c", _ENTRY, *arguments, *source], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith(answer), done.stderr[-2000:]
    assert "tensorflow imported: False" in done.stdout
    assert not (tmp_path / "mlruns").exists()


ACCEPTED = [
    ["model=lstm"],
    ["-m", "model=simplernn,lstm,gru", "data.n_train=10,100"],
    ["-m", "model=choice(lstm,gru)", "optimizer.learning_rate=tag(log,interval(1e-4,1e-1))"],
    ["+sweeps=main_grid"],
    ["-m", "+sweeps=imdb_optuna", "hydra.sweeper.n_trials=2"],
    ["model=gru", "model.unroll=true"],
    ["data=binary_addition", "data.bits=4"],
    ["++data.source=x.tar.gz", "~trainer.early_stopping"],
    ["hydra/launcher=ray", "hydra.launcher.num_cpus=1", "hydra.sweeper.dry_run=true"],
    ["--cfg", "job", "-p", "model", "model=lstm"],
    ["--help"],
]


@pytest.mark.parametrize("arguments", ACCEPTED, ids=lambda a: " ".join(a))
def test_a_good_command_line_passes_the_pre_check(arguments):
    refuse_command_line_mistakes(arguments)  # SystemExit would fail the test


def test_a_hydra_error_keeps_its_first_lines_and_the_options_and_drops_the_advice():
    text = (
        "Could not override 'trainer.epoch'.\n"
        "To append to your config use +trainer.epoch=1\n"
        "Key 'epoch' is not in struct\n"
        "    full_key: trainer.epoch\n"
        "    object_type=dict\n"
        "\n"
        "Set the environment variable HYDRA_FULL_ERROR=1 for a complete stack trace.\n"
    )
    assert hydra_error_line(text) == "Could not override 'trainer.epoch': Key 'epoch' is not in struct"
    missing = (
        "In 'hydra/config': Could not find 'hydra/launcher/rayy'\n\n"
        "Available options in 'hydra/launcher':\n\tbasic\n\tray\n"
        "Config search path:\n\tprovider=hydra, path=pkg://hydra.conf\n\n"
        "Set the environment variable HYDRA_FULL_ERROR=1 for a complete stack trace.\n"
    )
    assert hydra_error_line(missing) == "In 'hydra/config': Could not find 'hydra/launcher/rayy'; the options are basic, ray"
