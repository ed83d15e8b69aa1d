"""Workers: searches on every core. One process per worker holds its own engine over the same index,
read as it is (the app's process alone adds and removes documents); each search carries the fingerprint
of the app's index, and a worker that holds another one re-reads the index before it answers."""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context

from ..answer import Answer
from ..engine import Engine
from ..settings import Settings

_engine: Engine | None = None      # the worker process's own engine


def _start(settings: Settings) -> None:
    global _engine
    _engine = Engine(settings=replace(settings, seed=False), progress=False, update="none")


def _ask(fingerprint: str, question: str, options: dict) -> Answer:
    if _engine.store.fingerprint != fingerprint:      # the app added or removed documents since
        _engine.reload("none")
    return _engine.ask(question, **options)


def _ready() -> str:
    return _engine.store.fingerprint


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
        """The answer a worker gives, from the index as the app's engine has it now."""
        return self._pool.submit(_ask, self.engine.store.fingerprint, question, options).result()

    def close(self) -> None:
        """Stop the worker processes."""
        self._pool.shutdown(cancel_futures=True)
