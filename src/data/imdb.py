"""IMDB sentiment task: a seeded class-balanced training subset and the full test set, as
cached token ids, raw review text or cached sentence embeddings (one split for all three)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from src.data.disk_cache import cache_path, load_or_compute
from src.data.imdb_archive import read_reviews, resolve_source, source_fingerprint
from src.data.imdb_tfds import TFDS_SOURCE, TfdsReviews
from src.data.sentence_encoders import SENTENCE_ENCODERS
from src.data.subsets import balanced_subset
from src.data.task import InputRequest, InputSpec, TaskData, provides_inputs, wanted_inputs
from src.data.tokenize import fit_vocabulary, to_padded_ids
from src.data.validation_set import FINGERPRINT_KEY, ValidationMode, ValidationPlan, check_fixed_sizes, draw, fingerprint
from src.errors import ConfigError

TOKEN_CACHE_VERSION = 1
REVIEW_CACHE_VERSION = 1
EMBEDDING_CACHE_VERSION = 1

# An archive or extracted folder, or TFDS' imdb_reviews (`data.source=tfds`).
ReviewSource = Path | TfdsReviews


def open_source(source: str | None, cache_dir: str) -> ReviewSource:
    """`data.source`: ``tfds`` reads through TensorFlow Datasets; anything else is an
    archive or folder path (null downloads the official archive)."""
    return TfdsReviews() if source == TFDS_SOURCE else resolve_source(source, cache_dir)


def _fingerprint(source: ReviewSource) -> str:
    return source.fingerprint() if isinstance(source, TfdsReviews) else source_fingerprint(source)


def _read(source: ReviewSource):
    return source.read() if isinstance(source, TfdsReviews) else read_reviews(source)


@dataclass
class PreparedArrays:
    """Inputs (``x_train``, ``x_test``) and labels (``y_train``, ``y_test``) of both splits,
    shared by every trial of a process. Every representation keeps `read_reviews`' order,
    so one set of indices picks the same reviews from each.

    `seconds` is what reading (from the disk cache or the source) or computing cost; the
    first trial that uses the arrays reports it in its `data_seconds`, even when config
    validation triggered the preparation, so a cold start is visible in the trial's numbers.
    """

    arrays: dict[str, np.ndarray]
    from_disk_cache: bool
    seconds: float
    charged_to_a_trial: bool = False


@lru_cache(maxsize=8)
def token_arrays(
    source: ReviewSource, fingerprint: str, cache_dir: str, num_words: int, maxlen: int, truncating: str, padding: str
) -> PreparedArrays:
    """Token ids and labels of both splits, from memory, the disk cache, or the source.

    `fingerprint` is part of the in-process key so that a changed archive is re-read.
    """
    start = time.perf_counter()
    key = {
        "version": TOKEN_CACHE_VERSION,
        "source": fingerprint,
        "num_words": num_words,
        "maxlen": maxlen,
        "truncating": truncating,
        "padding": padding,
    }

    def compute() -> dict[str, np.ndarray]:
        # Parsed reviews are cached too, so another maxlen or vocabulary size (or a text
        # model in the same process) does not parse the archive again.
        reviews = review_texts(source, fingerprint, cache_dir).arrays
        train_texts, test_texts = list(reviews["x_train"]), list(reviews["x_test"])
        vectorizer = fit_vocabulary(train_texts, num_words)
        encode = lambda texts: to_padded_ids(vectorizer, texts, maxlen, truncating, padding)  # noqa: E731
        return {
            "x_train": encode(train_texts),
            "y_train": reviews["y_train"],
            "x_test": encode(test_texts),
            "y_test": reviews["y_test"],
        }

    arrays, from_disk = load_or_compute(cache_path(cache_dir, "imdb-tokens", key), compute)
    return PreparedArrays(arrays, from_disk, time.perf_counter() - start)


@lru_cache(maxsize=2)
def review_texts(source: ReviewSource, fingerprint: str, cache_dir: str) -> PreparedArrays:
    """The raw reviews of both splits (object arrays of str) and their labels.

    On disk the texts are one UTF-8 byte string per split plus offsets: NumPy's own
    string arrays pad every review to the longest one (gigabytes for IMDB), and object
    arrays would need pickle.
    """
    start = time.perf_counter()
    stored, from_disk = _stored_reviews(source, fingerprint, cache_dir)
    arrays = {
        "x_train": _unpacked_texts(stored, "train"),
        "y_train": stored["y_train"],
        "x_test": _unpacked_texts(stored, "test"),
        "y_test": stored["y_test"],
    }
    return PreparedArrays(arrays, from_disk, time.perf_counter() - start)


def _stored_reviews(source: ReviewSource, fingerprint: str, cache_dir: str) -> tuple[dict[str, np.ndarray], bool]:
    """The parsed reviews as stored on disk (packed texts and labels), and whether they were cached."""

    def compute() -> dict[str, np.ndarray]:
        reviews = _read(source)
        return {
            **_packed_texts("train", reviews.train_texts),
            "y_train": reviews.train_labels,
            **_packed_texts("test", reviews.test_texts),
            "y_test": reviews.test_labels,
        }

    key = {"version": REVIEW_CACHE_VERSION, "source": fingerprint}
    return load_or_compute(cache_path(cache_dir, "imdb-reviews", key), compute)


def _packed_texts(split: str, texts: list[str]) -> dict[str, np.ndarray]:
    encoded = [text.encode("utf-8") for text in texts]
    return {
        f"{split}_text_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        f"{split}_text_ends": np.cumsum([len(e) for e in encoded], dtype=np.int64),
    }


def _unpacked_texts(stored: dict[str, np.ndarray], split: str) -> np.ndarray:
    data, ends = stored[f"{split}_text_bytes"].tobytes(), stored[f"{split}_text_ends"]
    starts = np.concatenate([[0], ends[:-1]])
    texts = np.empty(len(ends), dtype=object)
    texts[:] = [data[a:b].decode("utf-8") for a, b in zip(starts, ends)]
    return texts


@lru_cache(maxsize=4)
def sentence_embeddings(source: ReviewSource, fingerprint: str, cache_dir: str, encoder: str) -> PreparedArrays:
    """Every review of both splits encoded by `encoder` (see `SENTENCE_ENCODERS`), and the labels.

    The whole archive is encoded once, whatever a trial's `n_train`, so every later trial
    and process, at any training-set size or seed, only loads the vectors. The key holds
    the encoder's name and version and the source's fingerprint.
    """
    start = time.perf_counter()
    text_seconds = 0.0
    sentence_encoder = SENTENCE_ENCODERS[encoder]

    def compute() -> dict[str, np.ndarray]:
        nonlocal text_seconds
        text_start = time.perf_counter()
        reviews = review_texts(source, fingerprint, cache_dir).arrays
        # The reviews are charged to a trial on their own (see `load_imdb`).
        text_seconds = time.perf_counter() - text_start
        n_train = len(reviews["x_train"])
        # One pass over both splits: one model load and one progress bar.
        vectors = sentence_encoder.encode([*reviews["x_train"], *reviews["x_test"]])
        return {
            "x_train": vectors[:n_train],
            "y_train": reviews["y_train"],
            "x_test": vectors[n_train:],
            "y_test": reviews["y_test"],
        }

    key = {
        "version": EMBEDDING_CACHE_VERSION,
        "source": fingerprint,
        "encoder": encoder,
        "encoder_version": sentence_encoder.version(),
    }
    arrays, from_disk = load_or_compute(cache_path(cache_dir, f"imdb-embeddings-{encoder}", key), compute)
    return PreparedArrays(arrays, from_disk, time.perf_counter() - start - text_seconds)


def _prepared_parts(
    request: InputRequest, source: ReviewSource, cache_dir: str, num_words: int, maxlen: int, truncating: str, padding: str
) -> list[PreparedArrays]:
    """The shared preparations behind one input form; the last one holds the inputs.

    Text and embeddings both start from the parsed reviews, so those are listed (and
    charged to a trial) as a part of their own.
    """
    fingerprint = _fingerprint(source)
    if request.kind == "token_ids":
        return [token_arrays(source, fingerprint, cache_dir, num_words, maxlen, truncating, padding)]
    reviews = review_texts(source, fingerprint, cache_dir)
    if request.kind == "text":
        return [reviews]
    return [reviews, sentence_embeddings(source, fingerprint, cache_dir, request.encoder)]


def _request(inputs: InputRequest | None) -> InputRequest:
    request = inputs or InputRequest("token_ids")
    if request.kind not in load_imdb.input_kinds:
        raise ValueError(f"IMDB data comes as {', '.join(load_imdb.input_kinds)}, not {request.kind}")
    if request.kind == "sentence_embeddings" and request.encoder not in SENTENCE_ENCODERS:
        raise ValueError(f"no sentence encoder {request.encoder!r}; known: {', '.join(SENTENCE_ENCODERS)}")
    return request


def _labels(cfg) -> dict[str, np.ndarray]:
    """The labels of both splits, which is all the size checks need, from the parsed reviews.

    Not from the token ids: building those imports TensorFlow (Keras' TextVectorization), which
    the sweeping process, where the checks run, must not need; the trials tokenize later from the
    same parsed reviews, cached here.
    """
    _request(wanted_inputs(cfg.model))  # a model asking for inputs IMDB cannot give is refused here
    path = open_source(cfg.data.source, cfg.data.cache_dir)
    stored, _ = _stored_reviews(path, _fingerprint(path), str(cfg.data.cache_dir))
    return {"y_train": stored["y_train"], "y_test": stored["y_test"]}


def _smallest_usable_n_train(validation_split: float) -> int:
    """Fewest reviews that give each class at least one training and one validation review (`split` mode)."""
    n = 2
    while True:
        per_class = n // 2
        n_val = int(round(per_class * validation_split))
        if per_class - n_val >= 1 and (validation_split == 0 or n_val >= 1):
            return n
        n += 1


def check_imdb_sizes(cfg) -> None:
    """n_train, n_test and the validation set must fit the source and leave both classes in
    training and validation.

    This reads (or loads from cache) the parsed reviews, which the trials need anyway.
    """
    arrays = _labels(cfg)
    n_train, n_test = cfg.data.n_train, cfg.data.n_test
    plan = ValidationPlan.from_trainer(cfg.trainer)
    available = len(arrays["y_train"])
    if n_train is not None and n_train > available:
        raise ConfigError(
            "data.n_train", n_train, f"at most {available} (the training reviews in data.source), or null for all"
        )
    if plan.mode is ValidationMode.FIXED:
        check_fixed_sizes(arrays["y_train"], n_train, plan, "reviews")
    else:
        smallest = _smallest_usable_n_train(plan.split)
        if (n_train if n_train is not None else available) < smallest:
            raise ConfigError(
                "data.n_train",
                n_train,
                f"at least {smallest}, so that each class has a review in training and in validation "
                f"(trainer.validation_split={plan.split})",
            )
    if n_test is not None and n_test > len(arrays["y_test"]):
        raise ConfigError("data.n_test", n_test, f"at most {len(arrays['y_test'])} (the test reviews), or null for all")


@provides_inputs("token_ids", "text", "sentence_embeddings", check_sizes=check_imdb_sizes)
def load_imdb(
    *,
    name: str,
    loss: str,
    source: str | None,
    cache_dir: str,
    num_words: int,
    maxlen: int,
    truncating: str,
    padding: str,
    n_train: int | None,
    n_test: int | None,
    seed: int,
    validation: ValidationPlan,
    inputs: InputRequest | None = None,
    primary_metric: str = "acc",
) -> TaskData:
    """Build one trial's IMDB data.

    Validation and the training subset of `n_train` reviews (class-balanced, drawn with `seed`)
    follow `validation` (see `validation_set`): one fixed set for every trial, or a split of the
    subset. Test metrics use the whole test split unless
    `n_test` asks for a (balanced, seeded) subset. `inputs` picks the form (token ids by
    default, raw text, or sentence embeddings of `inputs.encoder`); the subset, split and
    test set depend only on the labels and `seed`, so they are the same reviews in every form.
    `num_words`, `maxlen`, `truncating` and `padding` apply to token ids only.
    """
    start = time.perf_counter()
    request = _request(inputs)
    path = open_source(source, cache_dir)
    lookup_start = time.perf_counter()
    parts = _prepared_parts(request, path, str(cache_dir), num_words, maxlen, truncating, padding)
    lookup_seconds = time.perf_counter() - lookup_start
    arrays = parts[-1].arrays
    rng = np.random.default_rng(seed)
    y_train_all, y_test_all = arrays["y_train"], arrays["y_test"]
    split = draw(y_train_all, n_train or len(y_train_all), validation, rng)
    train_idx, val_idx = split.train, split.validation
    test_idx = balanced_subset(y_test_all, n_test, rng) if n_test else np.arange(len(y_test_all))
    return TaskData(
        name=name,
        spec=_input_spec(request, arrays, maxlen, num_words),
        loss=loss,
        x_train=arrays["x_train"][train_idx],
        y_train=y_train_all[train_idx],
        x_val=arrays["x_train"][val_idx],
        y_val=y_train_all[val_idx],
        x_test=arrays["x_test"][test_idx],
        y_test=y_test_all[test_idx],
        info={
            # The lookup is replaced by the preparation cost, charged once per process.
            "data_seconds": time.perf_counter() - start - lookup_seconds + sum(_charge(part) for part in parts),
            "data_cache_hit": all(part.from_disk_cache for part in parts),
            "source": str(path),
            FINGERPRINT_KEY: fingerprint(_fingerprint(path), np.sort(val_idx)),
        },
        primary_metric=primary_metric,
    )


def _input_spec(request: InputRequest, arrays: dict[str, np.ndarray], maxlen: int, num_words: int) -> InputSpec:
    if request.kind == "token_ids":
        return InputSpec(kind="token_ids", sequence_length=maxlen, vocab_size=num_words)
    if request.kind == "text":
        return InputSpec(kind="text")
    return InputSpec(kind="sentence_embeddings", n_features=arrays["x_train"].shape[1], encoder=request.encoder)


def _charge(prepared: PreparedArrays) -> float:
    """The shared preparation time, for the first trial only (it may have run before this call)."""
    if prepared.charged_to_a_trial:
        return 0.0
    prepared.charged_to_a_trial = True
    return prepared.seconds
