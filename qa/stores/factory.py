"""Factory: the one place that knows every store and picks one by the address the settings give."""
from __future__ import annotations

from pathlib import Path

from ..settings import Settings
from .base import Store, StoreError

SERVERS = ("http://", "https://", "tcp://", "milvus://")


def kind(address: str | None) -> str:
    """Which store an address names: none -> "local" (the index folder); a path ending .db -> "milvus-lite";
    http(s)://, tcp://, milvus:// -> "milvus" (a server or cluster). Anything else is refused."""
    if not address:
        return "local"
    if address.startswith(SERVERS):
        return "milvus"
    if address.endswith(".db") and "://" not in address:
        return "milvus-lite"
    raise StoreError(f"store {address[:200]!r} is not an address reform-qa knows: leave QA_STORE unset for the "
                     "local index folder, give a path ending .db for Milvus Lite, or http://host:19530 (or "
                     "milvus://host:19530) for a Milvus server")


def open_store(settings: Settings, model: str, dim: int, fresh: bool = False) -> Store:
    """The store the settings name, as it is: opening writes nothing (indexing.Indexer writes). `fresh`
    (a rebuild): opened empty, whatever it held, which the first write replaces."""
    which = kind(settings.store)
    if which == "local":
        from .local import LocalStore
        return LocalStore.open(settings.index_dir, model, dim, fresh)
    from .milvus import MilvusStore   # pymilvus (the "milvus" extra) loads only when Milvus is asked for
    uri = settings.store.replace("milvus://", "http://", 1)
    if which == "milvus-lite":
        try:
            Path(uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot make the folder of the Milvus Lite file {uri} ({e.strerror or e}): "
                             "give a .db path in a folder you can write") from e
    return MilvusStore.open(uri, model, dim, settings.collection, settings.token, fresh)
