"""`trainer.deterministic=true`: two trainings with one seed give identical numbers on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from src.training.trainer import train

CONF = Path(__file__).resolve().parents[1] / "conf"


def _config(mini_archive: Path, cache_dir: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(
            config_name="config",
            overrides=[
                f"data.source={mini_archive}",
                f"data.cache_dir={cache_dir}",
                "data.n_train=200",
                "data.n_test=100",
                "data.maxlen=20",
                "model=gru",
                "model.units=8",
                "model.dropout=0.2",
                "model.recurrent_dropout=0.2",
                "trainer.epochs=2",
                *overrides,
            ],
        )


@pytest.mark.slow  # two trainings each: ~11 s
def test_same_seed_gives_identical_metrics_and_history(mini_archive: Path, cache_dir: Path) -> None:
    cfg = _config(mini_archive, cache_dir, "trainer.deterministic=true", "trainer.seed=7")
    first, second = train(cfg, verbose=0), train(cfg, verbose=0)
    assert first.metrics["test_acc"] == second.metrics["test_acc"]
    assert first.metrics["test_loss"] == second.metrics["test_loss"]
    assert first.history["val_acc"] == second.history["val_acc"]
    assert first.history["val_loss"] == second.history["val_loss"]


@pytest.mark.slow  # two trainings each: ~11 s
def test_another_seed_gives_other_numbers(mini_archive: Path, cache_dir: Path) -> None:
    # Guards the test above against comparing numbers that ignore the seed altogether.
    runs = [
        train(_config(mini_archive, cache_dir, "trainer.deterministic=true", f"trainer.seed={seed}"), verbose=0)
        for seed in (7, 8)
    ]
    assert runs[0].history["val_loss"] != runs[1].history["val_loss"]
