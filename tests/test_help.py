"""`python -m src.train --help` teaches the tool: how to run and sweep, every preset, every group option."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def help_page(tmp_path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "src.train", "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stderr == ""
    return done.stdout


def section(page: str, title: str) -> str:
    match = re.search(rf"^== {re.escape(title)} ==\n(.*?)(?=^== |\Z)", page, re.M | re.S)
    assert match, f"no section '{title}'"
    return match.group(1)


def test_help_shows_how_to_run_and_sweep_and_where_the_reference_is(tmp_path):
    page = help_page(tmp_path)
    assert page.startswith("seqsweep: train Keras models and compare sweeps of them")
    run = section(page, "Run")
    assert "python -m src.train -m model=simplernn,lstm,gru data.n_train=10,100,25000" in run
    assert "+sweeps=main_grid" in run and "hydra.sweeper.dry_run=true" in run
    syntax = section(page, "Sweep syntax (after -m)")
    for form in (
        "key=a,b,c",
        "range(16,129,16)",
        "choice(a,b,c)",
        "interval(0.0,0.5)",
        "tag(log,interval(",
        "hydra/sweeper=optuna",
    ):
        assert form in syntax
    assert "docs/configuration.md" in page and "hydra_plugins/seqsweep_plugins/README.md" in page
    assert "powered by Hydra" not in page


def test_help_lists_every_preset_and_every_group_option(tmp_path):
    page = help_page(tmp_path)
    presets = section(page, "Presets (+sweeps=NAME)")
    listed = {line.split()[0] for line in presets.splitlines() if line.strip()}
    assert listed == {path.stem for path in (ROOT / "sweeps").glob("*.yaml")}
    groups = section(page, "Config groups (group=option)")
    for group in ("model", "data", "optimizer", "trainer", "tracking"):
        options = {path.stem for path in (ROOT / "conf" / group).glob("*.yaml")}
        line = next(line for line in groups.splitlines() if re.search(rf"\b{group}\b", line))
        missing = [option for option in options if not re.search(rf"\b{option}\b", line)]
        assert missing == [], f"{group}: {missing} not in the help page"
