"""reform-qa: cited retrieval question answering over Chinese government reform documents."""
from __future__ import annotations

from .embeddings import DEFAULT_MODEL, Encoder, EncoderError, load_encoder
from .index import Index, IndexFormatError
from .ingest import Chunk, Document, IngestError, load_corpus
from .search import Answer, Engine, Hit
from .settings import Settings

__all__ = ["Answer", "Chunk", "Document", "Encoder", "EncoderError", "Engine", "Hit", "Index",
           "IndexFormatError", "IngestError", "Settings", "DEFAULT_MODEL",
           "load_corpus", "load_encoder", "search"]

_engines: dict[tuple, Engine] = {}


def search(question: str, k: int = 5, data_dir=None, index_dir=None, model: str | None = None) -> list[Hit]:
    """Best k passages for a question over the default corpus and index (a checkout's data/ and embeddings/,
    or an installed copy's user data folder); one engine per setting, reused."""
    key = (str(data_dir), str(index_dir), model)
    if key not in _engines:
        _engines[key] = Engine(data_dir=data_dir, index_dir=index_dir, model=model)
    return _engines[key].search(question, k=k)
