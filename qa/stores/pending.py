"""Pending vectors: vectors written to disk a batch at a time as they are computed, so a build killed
mid-way continues where it stopped (chunk ids are content hashes: a kept vector is right for any chunk
with that id). Cleared once a build that holds them is saved."""
from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np

FOLDER = "pending-vectors"


class PendingVectors:
    """The vectors of one index folder's unfinished builds, for one model."""

    def __init__(self, index_dir: Path, model: str):
        self.folder = Path(index_dir) / FOLDER
        self.model = model

    def load(self) -> dict[str, np.ndarray]:
        """Every kept vector of this model by chunk id (a damaged part is skipped)."""
        out: dict[str, np.ndarray] = {}
        for part in sorted(self.folder.glob("part-*.npz")):
            try:
                with np.load(part) as stored:
                    if str(stored["model"]) == self.model:
                        out.update(zip(stored["ids"].tolist(), stored["vectors"]))
            except (OSError, ValueError, KeyError):
                continue
        return out

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
        except OSError:
            for stray in self.folder.glob("tmp-*.npz"):
                stray.unlink(missing_ok=True)

    def clear(self) -> None:
        """Drop the kept vectors (a saved build holds them now)."""
        for part in self.folder.glob("*.npz"):
            part.unlink(missing_ok=True)
