"""The course's synthetic regression: d = 3x + 2 (linear) or a cubic, with Gaussian noise.

Noise is part of what is observed, so it is added to the training, validation and test
targets alike: the best possible test MSE is about `noise`**2, and the test MSE grows with
`data.noise` whatever the model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from src.data.task import InputRequest, InputSpec, TaskData, provides_inputs
from src.errors import ConfigError

FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: 3 * x + 2,
    "cubic": lambda x: x**3 - 2 * x**2 + x + 2,
}


def check_regression_settings(cfg) -> None:
    """A known function, noise >= 0, and examples left for training and validation."""
    if cfg.data.function not in FUNCTIONS:
        raise ConfigError("data.function", cfg.data.function, "one of " + ", ".join(FUNCTIONS))
    noise = cfg.data.noise
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise ConfigError("data.noise", noise, "a number >= 0 (the std of the Gaussian noise on the targets)")
    n_val = round(cfg.data.n_train * cfg.trainer.validation_split)
    if cfg.data.n_train - n_val < 1 or (cfg.trainer.validation_split > 0 and n_val < 1):
        raise ConfigError(
            "data.n_train",
            cfg.data.n_train,
            f"too small to leave examples for both training and validation (trainer.validation_split={cfg.trainer.validation_split})",
        )


@provides_inputs("tabular", check_sizes=check_regression_settings)
def load_regression(
    *,
    name: str,
    loss: str,
    primary_metric: str,
    function: str,
    noise: float,
    x_range: tuple[float, float],
    n_train: int,
    n_test: int,
    seed: int,
    validation_split: float,
    inputs: InputRequest | None = None,
) -> TaskData:
    """`n_train` (validation split off it) and `n_test` points x ~ U(x_range), y = f(x) + N(0, noise**2)."""
    if inputs is not None and inputs.kind != "tabular":
        raise ValueError(f"regression data comes as tabular features, not {inputs.kind}")
    rng = np.random.default_rng(seed)
    low, high = x_range

    def sample(count: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(low, high, size=(count, 1)).astype(np.float32)
        y = FUNCTIONS[function](x) + rng.normal(0.0, noise, size=x.shape)
        return x, y.astype(np.float32)

    x_train, y_train = sample(n_train)
    x_test, y_test = sample(n_test)
    n_val = round(n_train * validation_split)
    return TaskData(
        name=name,
        spec=InputSpec(kind="tabular", n_features=1, target="real"),
        loss=loss,
        x_train=x_train[n_val:],
        y_train=y_train[n_val:],
        x_val=x_train[:n_val],
        y_val=y_train[:n_val],
        x_test=x_test,
        y_test=y_test,
        metrics=[primary_metric, "mae"],
        primary_metric=primary_metric,
    )
