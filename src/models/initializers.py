"""Weight initializers by name with one scale knob (`model.init_scale`) across families.

The numpy study of binary addition sweeps "the initial weight scale" across plain normal,
Xavier and He initialization; in Keras those keep their scale in different places, so
`scaled_initializer` sets whichever one the named initializer has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# Keras is imported inside the functions that build: the config checks import this module
# for its declarations, before TensorFlow is imported (see src/models/keras_names.py).
if TYPE_CHECKING:
    import keras


class UnscalableInitializer(ValueError):
    """`init_scale` was given for an initializer that has no scale (zeros, ones, ...)."""


def scaled_initializer(name: str, scale: float | None = None) -> keras.initializers.Initializer:
    """The Keras initializer `name` (any name `keras.initializers.get` knows), with `scale`:

    - VarianceScaling and its subclasses (glorot_*, he_*, lecun_*): the variance scale
      (glorot's default is 1, he's 2), keeping the family's fan mode and distribution;
    - random_normal, truncated_normal: the standard deviation;
    - orthogonal, identity: the gain.

    `scale=None` keeps Keras' defaults. Raises `ValueError` for an unknown name and
    `UnscalableInitializer` for a scale on an initializer without one.
    """
    import keras

    initializer = keras.initializers.get(name)
    if scale is None:
        return initializer
    if isinstance(initializer, keras.initializers.VarianceScaling):
        # Glorot/He classes fix their scale in __init__; a VarianceScaling with the same
        # mode and distribution is the same family at another scale.
        return keras.initializers.VarianceScaling(
            scale=scale, mode=initializer.mode, distribution=initializer.distribution, seed=initializer.seed
        )
    config = initializer.get_config()
    for key in ("stddev", "gain"):
        if key in config:
            return type(initializer).from_config({**config, key: scale})
    raise UnscalableInitializer(f"{name} has no scale (stddev, gain or variance scale)")
