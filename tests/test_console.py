"""What a sweep prints, read from the real console of the CLI: its first line, one end line per
trial, the table and the closing line, and nothing from MLflow, Optuna, Ray or TensorFlow.

The first line's time is measured in benchmarks/first_minute.py, not asserted here.
"""

from __future__ import annotations

import re

import pytest

TINY = ["trainer.epochs=1", "model.units=4", "model.embedding_dim=8", "data.num_words=500", "data.maxlen=20"]
GRID = ["-m", "model=simplernn,lstm,gru", "data.n_train=60,80", *TINY]
END_LINE = re.compile(r"^\[(\d)/6\]  model=\w+ data\.n_train=\d+  val_acc=\d\.\d{4}  took \d+\.\ds  elapsed \d+:\d\d")


def _read_sweep(done, parallel: bool) -> None:
    lines = done.stdout.splitlines()
    assert lines[0] == "[sweep] grid of 6 trial(s) varying model, data.n_train", done.stdout[:2000]
    ends = [line for line in lines if END_LINE.match(line)]
    assert sorted(int(END_LINE.match(line)[1]) for line in ends) == [1, 2, 3, 4, 5, 6], done.stdout[-4000:]
    starts = [line for line in lines if " starts: " in line]
    assert len(starts) == (6 if parallel else 0), "a start line only when trials run side by side"
    table_at = lines.index("", lines.index(ends[-1]))
    table = lines[table_at + 1 : table_at + 8]
    assert table[0].split()[:3] == ["model", "data.n_train", "status"] and len(table) == 7
    assert lines[-1] == "[sweep] sweep FINISHED in " + lines[-1].split(" in ", 1)[1] and "6 complete" in lines[-1]
    ours = re.compile(r"^(\[sweep\] |\[\d/6\]  |\* with 1 epoch)")
    others = [line for line in lines[:table_at] + lines[table_at + 8 :] if line.strip() and not ours.match(line)]
    assert others == [], "only the sweep's own lines: " + "\n".join(others[:10])
    # stderr: only the data layer's progress bar while it reads the archive (our own, tqdm's format).
    noise = [line for line in re.split(r"[\r\n]", done.stderr) if line.strip() and not line.startswith("reading ")]
    assert noise == [], "\n".join(noise[:10])


@pytest.mark.slow
def test_a_grid_prints_its_plan_one_line_per_trial_and_a_summary(run_cli):
    done = run_cli(*GRID)
    _read_sweep(done, parallel=False)


@pytest.mark.slow
@pytest.mark.starts_ray
def test_a_grid_on_ray_with_two_slots_prints_the_same(run_cli):
    done = run_cli(*GRID, "hydra/launcher=ray", "hydra.launcher.max_concurrent=2", "+hydra.launcher.init_kwargs.num_cpus=2")
    _read_sweep(done, parallel=True)
