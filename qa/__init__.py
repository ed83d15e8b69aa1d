"""reform-qa: cited retrieval question answering over Chinese government reform documents.

The flow: documents (files -> Document, Chunk) -> stores (local FAISS + bm25s, or Milvus) -> engine (query,
ranking, answer) -> serve (chat, JSON API) and cli at the edges; bench and evaluate beside."""
from __future__ import annotations

from .ranking.answer import Answer, Hit
from .documents.document import Chunk, Document, IngestError
from .documents.folder import load_corpus
from .encoders import DEFAULT_MODEL, Encoder, EncoderError, load_encoder
from .engine import Engine
from .settings import Settings
from .stores import Store, StoreError

__all__ = ["Answer", "Chunk", "Document", "Encoder", "EncoderError", "Engine", "Hit", "IngestError",
           "Settings", "Store", "StoreError", "DEFAULT_MODEL", "load_corpus", "load_encoder", "search"]

_engines: dict[tuple, Engine] = {}


def search(question: str, k: int | None = None, data_dir=None, index_dir=None, model: str | None = None) -> list[Hit]:
    """Best k passages (default 3) for a question over the corpus the settings name (QA_HOME, QA_DATA_DIR,
    ...; a checkout's data/, else the user data folder); one engine per setting, reused."""
    key = (str(data_dir), str(index_dir), model)
    if key not in _engines:
        _engines[key] = Engine(data_dir=data_dir, index_dir=index_dir, model=model)
    return _engines[key].search(question, k=k)
