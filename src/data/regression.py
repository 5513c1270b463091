"""The course's synthetic regression: d = 3x + 2 (linear) or a cubic, with Gaussian noise.

Noise is part of what is observed, so it is added to the training, validation and test
targets alike: the best possible test MSE is about `noise`**2, and the test MSE grows with
`data.noise` whatever the model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from src.data.task import InputRequest, InputSpec, TaskData, provides_inputs
from src.data.validation_set import FINGERPRINT_KEY, ValidationMode, ValidationPlan, fingerprint
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
    plan = ValidationPlan.from_trainer(cfg.trainer)
    if plan.mode is ValidationMode.FIXED:
        if plan.fixed_size(None) < 1:
            raise ConfigError("trainer.validation_size", plan.size, "at least 1 point, or null for the default")
        if cfg.data.n_train < 1:
            raise ConfigError(
                "data.n_train", cfg.data.n_train, "at least 1 training point (validation points are drawn apart)"
            )
        return
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
    validation: ValidationPlan,
    inputs: InputRequest | None = None,
) -> TaskData:
    """`n_train` training and `n_test` test points x ~ U(x_range), y = f(x) + N(0, noise**2).

    `fixed` validation: points drawn with `validation.seed` alone, the same for every trial;
    one seed's training points are nested across `n_train` (x and noise come from two streams,
    so a smaller set is a prefix of a larger one). `split`: validation is split off `n_train`."""
    if inputs is not None and inputs.kind != "tabular":
        raise ValueError(f"regression data comes as tabular features, not {inputs.kind}")
    rng = np.random.default_rng(seed)
    low, high = x_range

    def sample(count: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(low, high, size=(count, 1)).astype(np.float32)
        y = FUNCTIONS[function](x) + rng.normal(0.0, noise, size=x.shape)
        return x, y.astype(np.float32)

    def nested_sample(count: int, stream: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x_stream, noise_stream = stream.spawn(2)
        x = x_stream.uniform(low, high, size=(count, 1)).astype(np.float32)
        y = FUNCTIONS[function](x) + noise_stream.normal(0.0, noise, size=x.shape)
        return x, y.astype(np.float32)

    if validation.mode is ValidationMode.FIXED:
        x_val, y_val = nested_sample(validation.fixed_size(None), np.random.default_rng(validation.seed))
        x_train, y_train = nested_sample(n_train, rng)
        x_test, y_test = nested_sample(n_test, np.random.default_rng([seed, 1]))
    else:
        x_all, y_all = sample(n_train)
        x_test, y_test = sample(n_test)
        n_val = round(n_train * validation.split)
        x_train, y_train, x_val, y_val = x_all[n_val:], y_all[n_val:], x_all[:n_val], y_all[:n_val]
    return TaskData(
        name=name,
        spec=InputSpec(kind="tabular", n_features=1, target="real"),
        loss=loss,
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        x_test=x_test,
        y_test=y_test,
        metrics=[primary_metric, "mae"],
        primary_metric=primary_metric,
        info={FINGERPRINT_KEY: fingerprint("regression", x_val, y_val)},
    )
