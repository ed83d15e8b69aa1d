"""Stores: where chunks are indexed and searched: the local folder (FAISS + BM25 postings) or Milvus."""
from .base import Candidates, Filters, Listing, Rows, Searcher, Store, StoreError, StoreWriteError, Writer
from .factory import open_store

__all__ = ["Candidates", "Filters", "Listing", "Rows", "Searcher", "Store", "StoreError", "StoreWriteError",
           "Writer", "open_store"]
