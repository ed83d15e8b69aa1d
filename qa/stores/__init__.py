"""Stores: where chunks are indexed and searched: the local folder (FAISS + bm25s) or Milvus."""
from .base import Candidates, Filters, Report, Store, StoreError
from .factory import open_store

__all__ = ["Candidates", "Filters", "Report", "Store", "StoreError", "open_store"]
