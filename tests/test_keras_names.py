"""The names the config checks accept without importing Keras are the names Keras accepts.

`src.models.keras_names` lists them so a mistake is answered before TensorFlow is imported;
these tests read the installed Keras, so an upgrade that adds, drops or changes one fails here.
"""

from __future__ import annotations

import inspect

import keras
import pytest

# Keras' own lookup tables: the names its `get` functions search (private, so read only here).
from keras.src.initializers import ALL_OBJECTS_DICT as KERAS_INITIALIZERS  # noqa: E402
from keras.src.metrics import ALL_OBJECTS_DICT as KERAS_METRICS  # noqa: E402

from src.models.initializers import UnscalableInitializer, scaled_initializer
from src.models.keras_names import ACTIVATIONS, INITIALIZERS, METRICS, SCALABLE_INITIALIZERS, UNSCALABLE_INITIALIZERS

ABSTRACT = {"Metric", "metric", "Initializer", "initializer"}


def test_activations_are_the_functions_of_keras_activations():
    functions = {
        name
        for name, member in vars(keras.activations).items()
        if inspect.isfunction(member) and not name.startswith("_") and name not in {"get", "serialize", "deserialize"}
    }
    assert ACTIVATIONS == functions


def _builds(lookup, name: str) -> bool:
    try:
        lookup(name)
    except (ValueError, TypeError, KeyError):
        return False
    return True


def test_initializers_are_the_names_keras_can_build():
    buildable = {name for name in KERAS_INITIALIZERS if name not in ABSTRACT and _builds(keras.initializers.get, name)}
    assert INITIALIZERS == buildable
    assert not SCALABLE_INITIALIZERS & UNSCALABLE_INITIALIZERS


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_an_initializer_is_listed_as_scalable_exactly_when_it_takes_a_scale(name):
    try:
        scaled_initializer(name, 0.5)
        scalable = True
    except UnscalableInitializer:
        scalable = False
    assert scalable == (name in SCALABLE_INITIALIZERS)


def test_metrics_are_the_names_keras_can_build_without_arguments():
    buildable = {name for name in KERAS_METRICS if name not in ABSTRACT and _builds(keras.metrics.get, name)}
    assert METRICS == buildable
