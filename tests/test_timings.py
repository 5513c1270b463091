"""Trial timings: graph building is reported as `first_epoch_seconds` and kept out of `ms_per_step`;
`trainer.evaluate_test=false` skips the test set."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from src.training.callbacks import steady_ms_per_step
from src.training.trainer import train

CONF = Path(__file__).resolve().parents[1] / "conf"


def _train(mini_archive: Path, cache_dir: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[
                f"data.source={mini_archive}",
                f"data.cache_dir={cache_dir}",
                "data.n_train=10",
                "data.n_test=20",
                "data.maxlen=20",
                "model=lstm",
                "model.units=8",
                *overrides,
            ],
        )
    return train(cfg, verbose=0)


def test_ms_per_step_leaves_out_the_first_epoch() -> None:
    assert steady_ms_per_step([5.0, 0.2, 0.4], steps_per_epoch=2) == pytest.approx(150.0)
    # One epoch: nothing but the first epoch to measure.
    assert steady_ms_per_step([5.0], steps_per_epoch=2) == pytest.approx(2500.0)


def test_tiny_training_reports_graph_building_apart_from_speed(mini_archive: Path, cache_dir: Path) -> None:
    result = _train(mini_archive, cache_dir, "trainer.epochs=3")
    m, history = result.metrics, result.history
    assert m["first_epoch_seconds"] == history["epoch_seconds"][0]
    # At n_train=10 (one step per epoch) the first epoch is mostly tracing: the steady speed
    # must come from the later epochs only, and be far below the first epoch's time.
    steps = 1
    assert m["ms_per_step"] == pytest.approx(1000.0 * sum(history["train_seconds"][1:]) / (2 * steps))
    assert m["ms_per_step"] < 1000.0 * history["train_seconds"][0] / 2


def test_evaluate_test_false_skips_the_test_set(mini_archive: Path, cache_dir: Path) -> None:
    result = _train(mini_archive, cache_dir, "trainer.epochs=1", "trainer.evaluate_test=false")
    assert not [name for name in result.metrics if name.startswith("test_")]
    assert "eval_seconds" not in result.metrics
    assert "val_acc" in result.metrics
