"""Vectors: embedding chunks a batch at a time, and every place a vector already made is kept: the
vectors a corpus folder ships (vectors-<model>.npz) and the cache of batches written as they are computed
(so a build killed mid-way continues where it stopped). Chunk ids are content hashes: a kept vector is
right for any chunk with that id."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from itertools import groupby
from pathlib import Path

import numpy as np

from ..documents.document import Chunk, index_text
from ..encoders import Encoder
from ..progress import Progress

BATCH = 64        # chunks embedded at a time (and kept in the cache per batch)


def embed(chunks: list[Chunk], encoder: Encoder, what: str, progress: bool = True,
          callback: Callable[[int, int], None] | None = None,
          keep: Callable[[dict[str, np.ndarray]], None] | None = None) -> dict[str, np.ndarray]:
    """Each chunk's vector (of its heading path and text) by chunk id, a batch at a time, with progress;
    `keep` gets each batch as it is made. A batch never spans two documents: the encoder's int8 scales
    are per call, so a document's vectors are the same however many others are embedded with it."""
    vectors: dict[str, np.ndarray] = {}
    parts = [document[start:start + BATCH] for _, group in groupby(chunks, key=lambda c: c.doc_id)
             for document in [list(group)] for start in range(0, len(document), BATCH)]
    with Progress(len(chunks), what, progress, callback) as done:
        for part in parts:
            made = dict(zip((c.id for c in part), encoder.encode([index_text(c) for c in part])))
            if keep:
                keep(made)
            vectors.update(made)
            done.update(len(part))
    return vectors


class VectorCache:
    """Vectors of one model kept in a folder a batch per file, until what needed them is written."""

    def __init__(self, folder: Path, model: str):
        self.folder, self.model = Path(folder), model
        self._mine: list[Path] = []          # the parts this cache wrote since it last cleared

    def load(self) -> tuple[dict[str, np.ndarray], list[Path]]:
        """Every kept vector of this model by chunk id, and the parts they came from (damaged ones skipped)."""
        out: dict[str, np.ndarray] = {}
        parts = sorted(self.folder.glob("part-*.npz")) if self.folder.is_dir() else []
        for part in parts:
            try:
                with np.load(part) as stored:
                    if str(stored["model"]) == self.model:
                        out.update(zip(stored["ids"].tolist(), stored["vectors"]))
            except (OSError, ValueError, KeyError):
                continue
        return out, parts

    def add(self, vectors: dict[str, np.ndarray]) -> None:
        """Keep a batch (best effort: a full disk only loses the head start, never the build)."""
        if not vectors:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = uuid.uuid4().hex
            tmp = self.folder / f"tmp-{name}.npz"
            np.savez(tmp, model=np.array(self.model), ids=np.array(list(vectors)),
                     vectors=np.array(list(vectors.values()), np.float32))
            tmp.replace(self.folder / f"part-{name}.npz")
            self._mine.append(self.folder / f"part-{name}.npz")
        except OSError:
            for stray in self.folder.glob("tmp-*.npz"):
                stray.unlink(missing_ok=True)

    def clear(self, used: list[Path] = ()) -> None:
        """Drop the parts this cache wrote and the `used` ones (a store holds their vectors now); parts
        another process is writing meanwhile are left to it."""
        for part in [*self._mine, *used]:
            part.unlink(missing_ok=True)
        self._mine = []


def shipped_vectors(folder: Path, model: str, dim: int) -> dict[str, np.ndarray]:
    """The vectors a corpus folder carries for its chunks (vectors-<model>.npz, by chunk id; empty for any
    other model): the shipped corpus has them, so a new data home answers without embedding it first."""
    path = Path(folder) / f"vectors-{model}.npz"
    if not path.is_file():
        return {}
    with np.load(path) as stored:
        if str(stored["model"]) != model or stored["vectors"].shape[1] != dim:
            return {}
        return dict(zip(stored["ids"].tolist(), stored["vectors"]))


def ship_vectors(folder: Path, model: str, chunks: list[Chunk], vectors: dict[str, np.ndarray]) -> Path:
    """Write the vectors of a corpus folder's chunks into it (`reform-qa index --ship-vectors`)."""
    path = Path(folder) / f"vectors-{model}.npz"
    ids = [c.id for c in chunks]
    np.savez_compressed(path, model=np.array(model), ids=np.array(ids),
                        vectors=np.array([vectors[i] for i in ids], np.float32))
    return path
