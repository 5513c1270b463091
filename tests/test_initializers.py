"""Initializer knobs: the named initializer and its scale reach every weight, bad values are refused."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from src.data.task import InputSpec
from src.errors import ConfigError
from src.validation import validate_config

CONF = Path(__file__).resolve().parents[1] / "conf"
BITS = InputSpec(kind="features", sequence_length=8, n_features=2, per_step_targets=True)
TOKENS = InputSpec(kind="token_ids", sequence_length=12, vocab_size=300)


def config(*overrides: str, with_hydra: bool = False):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=with_hydra)


def weights_of(model: keras.Model, layer_type: type) -> dict[str, np.ndarray]:
    layer = next(candidate for candidate in model.layers if isinstance(candidate, layer_type))
    return {w.path.rsplit("/", 1)[-1]: np.asarray(w) for w in layer.weights}


def test_random_normal_scale_is_the_std_of_kernel_recurrent_and_output_weights():
    cfg = config(
        "data=binary_addition",
        "model.units=64",
        "model.kernel_initializer=random_normal",
        "model.recurrent_initializer=random_normal",
        "model.init_scale=5",
    )
    model = instantiate(cfg.model, spec=BITS)
    rnn = weights_of(model, keras.layers.SimpleRNN)
    assert rnn["kernel"].std() == pytest.approx(5, rel=0.15)
    assert rnn["recurrent_kernel"].std() == pytest.approx(5, rel=0.1)
    assert np.asarray(model.get_layer("output").kernel).std() == pytest.approx(5, rel=0.3)


def test_scale_is_the_variance_scale_of_he_and_glorot():
    # he_normal: std = sqrt(scale / fan_in); glorot_normal: sqrt(scale / mean(fan_in, fan_out)); 64 x 64 weights.
    for initializer, expected in [("he_normal", np.sqrt(3 / 64)), ("glorot_normal", np.sqrt(3 / 64))]:
        cfg = config(
            "data=binary_addition", "model.units=64", f"model.recurrent_initializer={initializer}", "model.init_scale=3"
        )
        recurrent = weights_of(instantiate(cfg.model, spec=BITS), keras.layers.SimpleRNN)["recurrent_kernel"]
        # Truncated normal (VarianceScaling's "normal") keeps its std; sampling noise on 4096 values is ~2%.
        assert recurrent.std() == pytest.approx(expected, rel=0.1), initializer


def test_default_scale_keeps_keras_defaults():
    cfg = config("model=mlp", "model.kernel_initializer=he_uniform")
    dense = weights_of(instantiate(cfg.model, spec=TOKENS), keras.layers.Dense)["kernel"]  # 12 -> 128
    limit = np.sqrt(6 / 12)  # he_uniform's bound, scale 2
    assert np.abs(dense).max() <= limit and np.abs(dense).max() > 0.8 * limit


def test_dense_models_take_the_knobs():
    cfg = config("model=dense_bow", "model.kernel_initializer=random_normal", "model.init_scale=0.5")
    kernels = [
        np.asarray(layer.kernel)
        for layer in instantiate(cfg.model, spec=TOKENS).layers
        if isinstance(layer, keras.layers.Dense)
    ]
    assert kernels[0].std() == pytest.approx(0.5, rel=0.1)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (["model.kernel_initializer=gloriot_uniform"], "model.kernel_initializer=gloriot_uniform"),
        (["model.recurrent_initializer=nope"], "model.recurrent_initializer=nope"),
        (["model.init_scale=0"], "model.init_scale=0"),
        (["model.init_scale=-1"], "model.init_scale=-1"),
        (["model.kernel_initializer=zeros", "model.init_scale=2"], "model.init_scale=2"),
        (["model=mlp", "model.kernel_initializer=bogus"], "model.kernel_initializer=bogus"),
    ],
)
def test_bad_initializer_settings_are_refused_naming_the_key(overrides, named):
    cfg = config("data=binary_addition", *overrides)
    with pytest.raises(ConfigError) as refused:
        validate_config(cfg)
    assert str(refused.value).startswith(named) and "\n" not in str(refused.value)


def test_preset_grid_is_the_numpy_study():
    cfg = config("+sweeps=binary_addition_init", with_hydra=True)
    params = cfg.hydra.sweeper.params
    assert {key: len(str(value).split(",")) for key, value in params.items()} == {
        "model.units": 3,
        "model.kernel_initializer": 3,
        "model.init_scale": 3,
        "optimizer.learning_rate": 3,
        "model.activation": 3,
    }
    assert cfg.model.recurrent_initializer == cfg.model.kernel_initializer, "one initializer for every weight"
    assert cfg.optimizer._target_ == "keras.optimizers.SGD"


def test_output_activation_replaces_the_task_head_when_given():
    default = instantiate(config("data=binary_addition").model, spec=BITS)
    assert default.get_layer("output").activation.__name__ == "sigmoid"
    relu = instantiate(config("data=binary_addition", "model.output_activation=relu").model, spec=BITS)
    assert relu.get_layer("output").activation.__name__ == "relu"


@pytest.mark.slow
def test_relu_at_a_large_scale_fails_with_the_epoch_of_divergence(run_cli, store_runs):
    done = run_cli(
        "+sweeps=binary_addition_init",
        "trainer.epochs=2",
        "model.units=16",
        "model.kernel_initializer=random_normal",
        "model.init_scale=0.1,5",
        "optimizer.learning_rate=0.1",
        "model.activation=relu",
        source=None,
    )
    runs = store_runs("binary_addition")
    trials = runs[runs["tags.mlflow.parentRunId"].notna()].set_index("params.model.init_scale")
    assert trials.loc["0.1", "status"] == "FINISHED"
    assert trials.loc["5", "status"] == "FAILED"
    assert "loss became nan at epoch 1" in trials.loc["5", "tags.error"]
    assert "loss became nan at epoch 1" in done.stdout
