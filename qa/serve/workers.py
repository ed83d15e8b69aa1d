"""Workers: searches on every core. One process per worker holds its own engine over the same index,
read as it is (the app's process alone adds and removes documents); each search carries the fingerprint
of the app's index, and a worker that holds another one re-reads the index before it answers."""
from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from multiprocessing import get_context

from ..ranking.answer import Answer
from ..engine import Engine
from ..settings import Settings

log = logging.getLogger("reform-qa")
_engine: Engine | None = None      # the worker process's own engine
_seen = ""                         # the app's index fingerprint the worker last answered for


def _start(settings: Settings) -> None:
    global _engine, _seen
    _engine = Engine(settings=replace(settings, seed=False), progress=False, update="none")
    _seen = _engine.listing().fingerprint


def _ask(fingerprint: str, question: str, options: dict) -> Answer:
    global _seen
    if fingerprint != _seen:   # the app added or removed documents since its last search here; re-read once
        _engine.refresh()       # (a Milvus store's own view may differ a moment: never re-read every search)
        _seen = fingerprint
    return _engine.ask(question, **options)


def _ready() -> str:
    return _engine.listing().fingerprint


class Searchers:
    """`workers` search processes beside the app's engine; ask() has Engine.ask's arguments and answer."""

    def __init__(self, engine: Engine, workers: int):
        self.engine = engine
        self.workers = workers
        self._pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start,
                                         initargs=(engine.settings,))
        for ready in [self._pool.submit(_ready) for _ in range(workers)]:   # start them all now, not on a question
            ready.result()

    def ask(self, question: str, **options) -> Answer:
        """The answer a worker gives, from the index as the app's engine has it now; the app's own engine
        answers if the workers are gone (a worker killed by the system takes the pool with it)."""
        try:
            return self._pool.submit(_ask, self.engine.listing().fingerprint, question, options).result()
        except BrokenProcessPool:
            log.error("search workers stopped; the app's process answers from now on")
            return self.engine.ask(question, **options)

    def close(self) -> None:
        """Stop the worker processes."""
        self._pool.shutdown(cancel_futures=True)
