"""Image classification from TensorFlow Datasets (MNIST, CIFAR-10, ...): a seeded,
class-balanced training subset, a stratified validation split and the test split."""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np

from src.data.subsets import balanced_subset
from src.data.task import InputRequest, InputSpec, TaskData, provides_inputs
from src.data.tfds_arrays import load_split
from src.data.validation_set import FINGERPRINT_KEY, ValidationMode, ValidationPlan, check_fixed_sizes, draw, fingerprint
from src.errors import ConfigError


@lru_cache(maxsize=2)
def image_arrays(tfds_name: str, data_dir: str | None, download: bool = True) -> tuple[dict[str, np.ndarray], int, float]:
    """Both splits as uint8 images and int labels, the number of classes, and the seconds
    reading took; held in memory for every trial of the process (TFDS caches on disk)."""
    start = time.perf_counter()
    x_train, y_train, info = load_split(tfds_name, "train", data_dir, download)
    x_test, y_test, _ = load_split(tfds_name, "test", data_dir, download)
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return arrays, info.features["label"].num_classes, time.perf_counter() - start


def check_image_sizes(cfg) -> None:
    """n_train and n_test must fit the dataset and leave every class a training and a
    validation image. Checked when the dataset is on disk already: validation runs before every
    sweep and must not start a download (minutes, or a hang without network); otherwise the
    first trial downloads it and its loader checks the sizes."""
    try:
        arrays, n_classes, _ = image_arrays(cfg.data.tfds_name, cfg.data.data_dir, download=False)
    except Exception:  # noqa: BLE001 - TFDS says "not on disk" in several ways; the first trial downloads and checks
        return
    for key, split in (("data.n_train", "y_train"), ("data.n_test", "y_test")):
        requested, available = cfg.data[key.split(".")[1]], len(arrays[split])
        if requested is not None and requested > available:
            raise ConfigError(
                key, requested, f"at most {available} (the {split[2:]} images of {cfg.data.tfds_name}), or null for all"
            )
    plan = ValidationPlan.from_trainer(cfg.trainer)
    if plan.mode is ValidationMode.FIXED:
        check_fixed_sizes(arrays["y_train"], cfg.data.n_train, plan, "images")
        return
    rarest = np.bincount(arrays["y_train"], minlength=n_classes).min()
    per_class = cfg.data.n_train // n_classes if cfg.data.n_train else rarest
    n_val = round(per_class * plan.split)
    if per_class - n_val < 1 or (plan.split > 0 and n_val < 1):
        raise ConfigError(
            "data.n_train",
            cfg.data.n_train,
            f"large enough for a training and a validation image of each of the {n_classes} classes "
            f"(trainer.validation_split={plan.split})",
        )


@provides_inputs("images", check_sizes=check_image_sizes)
def load_image_classification(
    *,
    name: str,
    loss: str,
    primary_metric: str,
    tfds_name: str,
    data_dir: str | None,
    n_train: int | None,
    n_test: int | None,
    seed: int,
    validation: ValidationPlan,
    inputs: InputRequest | None = None,
) -> TaskData:
    """One trial's images: `n_train` (null: all) drawn class-balanced with `seed`, validated as
    `validation` says (see `validation_set`), and the test split (or a balanced `n_test` of it).
    Pixels stay uint8; the models rescale them."""
    if inputs is not None and inputs.kind != "images":
        raise ValueError(f"{name} comes as images, not {inputs.kind}")
    start = time.perf_counter()
    arrays, n_classes, read_seconds = image_arrays(tfds_name, data_dir)
    rng = np.random.default_rng(seed)
    y_train_all, y_test_all = arrays["y_train"], arrays["y_test"]
    # All images keep the dataset's own class frequencies; a subset is balanced.
    split = draw(y_train_all, n_train, validation, rng)
    train_idx, val_idx = split.train, split.validation
    test_idx = balanced_subset(y_test_all, n_test, rng) if n_test else np.arange(len(y_test_all))
    return TaskData(
        name=name,
        spec=InputSpec(kind="images", image_shape=tuple(arrays["x_train"].shape[1:]), target="classes", n_classes=n_classes),
        loss=loss,
        x_train=arrays["x_train"][train_idx],
        y_train=y_train_all[train_idx],
        x_val=arrays["x_train"][val_idx],
        y_val=y_train_all[val_idx],
        x_test=arrays["x_test"][test_idx],
        y_test=y_test_all[test_idx],
        primary_metric=primary_metric,
        info={
            "data_seconds": time.perf_counter() - start + _charge_once(tfds_name, data_dir, read_seconds),
            FINGERPRINT_KEY: fingerprint(tfds_name, len(y_train_all), np.sort(val_idx)),
        },
    )


_charged: set[tuple[str, str | None]] = set()


def _charge_once(tfds_name: str, data_dir: str | None, seconds: float) -> float:
    """Reading time counts for the first trial of the process only (later trials hit memory)."""
    if (tfds_name, data_dir) in _charged:
        return 0.0
    _charged.add((tfds_name, data_dir))
    return seconds
