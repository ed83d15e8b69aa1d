"""Segments: the local store on disk, one folder per document (its chunks, their vectors and their term
counts) and a manifest that lists the live ones. A write adds or drops folders, then replaces the manifest
atomically: readers never see a partial document, and adding one writes only that document."""
from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..documents.document import Chunk, Document
from .bm25 import Counts

FORMAT = 2                  # format 1 was one folder for the whole corpus (build-*/CURRENT)
MANIFEST = "manifest.json"
FOLDER = "segments"


class FormatError(RuntimeError):
    """An index folder this version cannot read; the message says how to rebuild it."""


class OldFormat(FormatError):
    """An index folder of format 1 (build-*/CURRENT): read as empty, replaced by the first write."""


@dataclass(frozen=True)
class Entry:
    """One document as the manifest lists it: its folder, chunk signature and metadata."""
    document: Document
    segment: str
    signature: str
    chunks: int


@dataclass(frozen=True)
class Manifest:
    """The live documents of an index folder, the model its vectors are of, and the folders just retired
    (kept one more write for readers that read the manifest before it changed)."""
    model: str
    dim: int
    entries: tuple[Entry, ...] = ()
    retired: tuple[str, ...] = ()
    generation: int = 0


@dataclass(frozen=True)
class Segment:
    """One document's stored rows: chunks, vectors, their term counts and the corpus terms it brings."""
    chunks: list[Chunk]
    vectors: np.ndarray
    counts: Counts
    words: list[str]


def read_manifest(index_dir: Path) -> Manifest | None:
    """The manifest of an index folder (None if it has none yet)."""
    path = Path(index_dir) / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if (Path(index_dir) / "CURRENT").exists():
            raise OldFormat(f"index in {index_dir} has format 1; this version reads {FORMAT}: run "
                            "`reform-qa index --rebuild`") from None
        return None
    except (OSError, ValueError) as e:
        raise FormatError(f"no usable index in {index_dir} ({e}): run `reform-qa index --rebuild`") from e
    if raw.get("format") != FORMAT:
        raise FormatError(f"index in {index_dir} has format {raw.get('format')}; this version reads {FORMAT}: "
                          "run `reform-qa index --rebuild`")
    entries = tuple(Entry(Document(**e["document"]), e["segment"], e["signature"], e["chunks"])
                    for e in raw["entries"])
    return Manifest(raw["model"], raw["dim"], entries, tuple(raw.get("retired", ())), raw.get("generation", 0))


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically (callers hold the folder's lock)."""
    raw = {"format": FORMAT, "model": manifest.model, "dim": manifest.dim, "generation": manifest.generation,
           "retired": list(manifest.retired),
           "entries": [{"document": asdict(e.document), "segment": e.segment, "signature": e.signature,
                        "chunks": e.chunks} for e in manifest.entries]}
    tmp = Path(index_dir) / f".{MANIFEST}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
    try:
        tmp.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, Path(index_dir) / MANIFEST)
    finally:
        tmp.unlink(missing_ok=True)


def write_segment(index_dir: Path, segment: Segment) -> str:
    """Write one document's rows into a new folder; returns its name (a failed write removes it)."""
    name = f"seg-{uuid.uuid4().hex[:16]}"
    folder = Path(index_dir) / FOLDER / name
    try:
        folder.mkdir(parents=True)
        with open(folder / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in segment.chunks:
                f.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
        np.save(folder / "vectors.npy", segment.vectors.astype(np.float32))
        c = segment.counts
        np.savez(folder / "terms.npz", words=np.array(c.words, dtype=str), rows=c.rows, terms=c.terms, tf=c.tf,
                 lengths=c.lengths, corpus_words=np.array(segment.words, dtype=str))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return name


def read_segment(index_dir: Path, name: str, dim: int) -> Segment:
    """One document's rows, as write_segment stored them."""
    folder = Path(index_dir) / FOLDER / name
    chunks = [Chunk(**json.loads(line)) for line in
              (folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line]
    vectors = np.load(folder / "vectors.npy")
    if vectors.shape != (len(chunks), dim):
        raise FormatError(f"segment {name} of {index_dir} is inconsistent: run `reform-qa index --rebuild`")
    with np.load(folder / "terms.npz") as t:
        counts = Counts(t["words"].tolist(), t["rows"], t["terms"], t["tf"], t["lengths"])
        return Segment(chunks, vectors, counts, t["corpus_words"].tolist())


def remove_segment(index_dir: Path, name: str) -> None:
    """Remove a folder written by a write that did not commit."""
    shutil.rmtree(Path(index_dir) / FOLDER / name, ignore_errors=True)


def clean(index_dir: Path, manifest: Manifest) -> None:
    """Remove folders neither live nor just retired (older retirements, and writes a crash left)."""
    keep = {e.segment for e in manifest.entries} | set(manifest.retired)
    for folder in (Path(index_dir) / FOLDER).glob("seg-*"):
        if folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)
    for old in Path(index_dir).glob("build-*"):          # a format-1 index this one replaced
        shutil.rmtree(old, ignore_errors=True)
    (Path(index_dir) / "CURRENT").unlink(missing_ok=True)
