"""Synthetic: corpora of any size resampled from a real one, and realistic vectors for them without
embedding every chunk (the mean of real sentence vectors)."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from ..documents.folder import load_corpus
from ..text import sentences


class SentenceMeanEncoder:
    """Vectors for resampled chunks: the normalised mean of real vectors of their sentences (each
    sentence embedded once), so 100K chunks get realistic vectors without embedding 100K texts."""

    def __init__(self, base):
        self.base, self.name, self.dim = base, base.name, base.dim
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str], query: bool = False) -> np.ndarray:
        if query:
            return self.base.encode(texts, query=True)
        parts = [sentences(t) or [t] for t in texts]
        new = sorted({s for p in parts for s in p} - self.cache.keys())
        for start in range(0, len(new), 256):
            batch = new[start:start + 256]
            self.cache.update(zip(batch, self.base.encode(batch)))
        out = np.array([np.mean([self.cache[s] for s in p], axis=0) for p in parts], np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def write_scaled_corpus(source: Path, target: Path, chunks: int, seed: int = 7) -> None:
    """A corpus of about `chunks` paragraphs resampled from the real corpus's sentences, 1000 per file."""
    _, real = load_corpus(source)
    pool = [s for c in real for s in sentences(c.text) if 8 < len(s) <= 120 and s[-1] in "。！？；"]
    lengths = [min(max(len(c.text), 60), 195) for c in real]
    rng = random.Random(seed)
    target.mkdir(parents=True)
    for f in range(0, chunks, 1000):
        paragraphs = []
        for _ in range(min(1000, chunks - f)):
            text, want = rng.choice(pool), rng.choice(lengths)
            while True:   # whole sentences, 60-195 chars: the chunker keeps one paragraph as one chunk
                more = rng.choice(pool)
                if len(text) + len(more) > 195 or (len(text) >= 60 and len(text) + len(more) > want):
                    break
                text += more
            paragraphs.append(text)
        (target / f"scaled-{f // 1000:04d}.txt").write_text(f"合成文档{f // 1000}\n\n" + "\n\n".join(paragraphs),
                                                            encoding="utf-8")
