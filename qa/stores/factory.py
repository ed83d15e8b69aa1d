"""Factory: the one place that knows both stores and picks one from the settings."""
from __future__ import annotations

from collections.abc import Callable

from ..encoders import Encoder
from ..settings import Settings
from .base import Store
from .local import open_local


def open_store(settings: Settings, encoder: Encoder, update: str = "add", progress: bool = True,
               callback: Callable[[int, int], None] | None = None) -> Store:
    """The store the settings name: store None -> the local index folder; a path ending .db -> Milvus Lite
    in that file; http(s)://host:19530 -> a Milvus server or cluster. `update` says what opening does with
    the corpus folder (stores.base.plan: "add" new documents, "sync" changed ones too, "rebuild")."""
    if not settings.store:
        return open_local(settings.data_dir, settings.index_dir, encoder, update, progress, callback)
    from .milvus import MilvusStore   # pymilvus (the "milvus" extra) loads only when Milvus is asked for
    return MilvusStore.open(settings.store, settings.data_dir, encoder, settings.collection, settings.token,
                            update, progress, callback)
