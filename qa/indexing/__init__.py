"""Indexing: the way from a corpus folder's files to a store: plan what changed, parse once, reuse every
vector already made (shipped, cached, stored), embed the rest, and write whole documents."""
from .indexer import Indexer
from .plan import Report

__all__ = ["Indexer", "Report"]
