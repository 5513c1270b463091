"""Every model config composes and builds through Hydra, with the layers its name promises."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from src.data.task import InputSpec

CONF = Path(__file__).resolve().parents[1] / "conf"
TOKENS = InputSpec(kind="token_ids", sequence_length=12, vocab_size=300)


def build(model: str, *overrides: str) -> keras.Model:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"model={model}", *overrides])
    return instantiate(cfg.model, spec=TOKENS)


@pytest.mark.parametrize(
    ("model", "layer"),
    [
        ("simplernn", "SimpleRNN"),
        ("lstm", "LSTM"),
        ("gru", "GRU"),
        ("bilstm", "Bidirectional"),
        ("mlp", "Dense"),
        ("dense_bow", "CategoryEncoding"),
    ],
)
def test_model_builds_and_predicts_one_probability(model, layer):
    net = build(model)
    assert layer in {type(layer).__name__ for layer in net.layers}
    prediction = net.predict(np.random.default_rng(0).integers(0, 300, size=(4, 12)), verbose=0)
    assert prediction.shape == (4, 1) and ((prediction >= 0) & (prediction <= 1)).all()


def test_course_defaults():
    net = build("simplernn")
    embedding, rnn = (
        net.get_layer("embedding"),
        next(layer for layer in net.layers if isinstance(layer, keras.layers.SimpleRNN)),
    )
    assert embedding.output_dim == 128 and rnn.units == 64
    assert net.layers[-1].activation.__name__ == "sigmoid"


def test_rnn_knobs_reach_the_layers():
    net = build("gru", "model.units=8", "model.num_layers=2", "model.bidirectional=true", "model.dropout=0.25")
    wrapped = [layer.forward_layer for layer in net.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert len(wrapped) == 2 and all(layer.units == 8 and layer.dropout == 0.25 for layer in wrapped)
    assert wrapped[0].return_sequences and not wrapped[1].return_sequences


def test_mlp_matches_the_course_network():
    dense = [layer for layer in build("mlp").layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [128, 64, 1]
    assert [layer.activation.__name__ for layer in dense] == ["sigmoid", "sigmoid", "sigmoid"]
