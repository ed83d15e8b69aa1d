"""Uploads: files join the corpus at once; their passages are embedded in the background, with progress,
while questions are answered from the current index (the new one is swapped in when complete)."""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .documents.library import Added, add_parsed
from .engine import Engine

KEEP = 100      # finished uploads remembered for their status


@dataclass(frozen=True)
class Upload:
    """One upload: each file's outcome, then how far the embedding of its passages is."""
    id: str
    files: tuple[Added, ...]
    state: str                         # embedding, done or failed
    done: int = 0                      # passages embedded so far
    total: int = 0                     # passages to embed (0 until counted, or when all were known)
    seconds_left: float | None = None
    error: str = ""
    started: float = 0.0

    @property
    def finished(self) -> bool:
        """Whether the index holds the upload (done) or will not (failed)."""
        return self.state in ("done", "failed")

    def json(self) -> dict:
        """The status as the JSON API answers it."""
        return {"id": self.id, "state": self.state, "done": self.done, "total": self.total,
                "seconds_left": None if self.seconds_left is None else round(self.seconds_left, 1),
                "error": self.error, "files": [{"name": Path(f.path).name, "status": f.status,
                                                "message": f.message, "id": f.doc_id} for f in self.files]}


class Uploads:
    """The uploads of one engine; embedding runs in one background thread per upload, one at a time
    (the engine serialises changes to the corpus)."""

    def __init__(self, engine: Engine, state_file: Path | None = None):
        """`state_file`: where statuses are kept across restarts (the server's; none in process)."""
        self.engine = engine
        self._uploads: dict[str, Upload] = {}
        self._lock = threading.Lock()
        self._embedding = threading.Lock()     # one upload embeds at a time (deletes never wait for it)
        self._file = state_file
        for upload in self._read():
            self._uploads[upload.id] = upload

    def _read(self) -> list[Upload]:
        try:
            rows = json.loads(self._file.read_text(encoding="utf-8")) if self._file else []
            return [Upload(**{**row, "files": tuple(Added(**f) for f in row["files"])}) for row in rows]
        except (OSError, ValueError, TypeError, KeyError):
            return []

    def _write(self) -> None:
        if not self._file:
            return
        try:
            tmp = self._file.with_suffix(".tmp")
            tmp.write_text(json.dumps([asdict(u) for u in self._uploads.values()], ensure_ascii=False),
                           encoding="utf-8")
            tmp.replace(self._file)
        except OSError:
            pass      # a full disk loses the statuses, never an upload

    def resume(self) -> Upload:
        """Embed what the corpus folder has and the index lacks (documents uploaded before a restart, or
        added by hand), in the background: the server listens meanwhile and answers from the index as it
        is. Uploads that were embedding when the server stopped finish with it."""
        with self._lock:
            waiting = [u.id for u in self._uploads.values() if not u.finished]
        upload = Upload(uuid.uuid4().hex[:12], (), "embedding", started=time.monotonic())
        self._set(upload)
        threading.Thread(target=self._embed, args=(upload.id, None, waiting), daemon=True, name="resume").start()
        return upload

    def start(self, paths: list[str | Path], names: list[str] | None = None, title: str | None = None,
              date: str | None = None, district: str | None = None) -> Upload:
        """Add the files to the corpus folder now (a bad file is reported and skipped) and embed the new
        passages in the background; returns the upload, to follow with get()."""
        s = self.engine.settings
        added, parsed = add_parsed(s.data_dir, paths, title, date, None, district, s.max_file_mb, names=names,
                                   max_passages=s.max_upload_passages)
        files = tuple(added)
        added = any(f.status == "added" for f in files)
        upload = Upload(uuid.uuid4().hex[:12], files, "embedding" if added else "done", started=time.monotonic())
        self._set(upload)
        if added:
            threading.Thread(target=self._embed, args=(upload.id, parsed), daemon=True,
                             name=f"upload-{upload.id}").start()
        return upload

    def busy(self) -> bool:
        """Whether anything is still being embedded."""
        with self._lock:
            return any(not u.finished for u in self._uploads.values())

    def embedding(self) -> dict:
        """Passages done and to do over the uploads still embedding (the health's progress)."""
        with self._lock:
            running = [u for u in self._uploads.values() if not u.finished]
        return {"done": sum(u.done for u in running), "total": sum(u.total for u in running)}

    def get(self, upload_id: str) -> Upload | None:
        """The upload's current status (None for an id this server never gave)."""
        with self._lock:
            return self._uploads.get(upload_id)

    def wait(self, upload_id: str, timeout: float | None = None) -> Upload | None:
        """Block until the upload has finished (or the timeout passed); its last status."""
        end = None if timeout is None else time.monotonic() + timeout
        while (upload := self.get(upload_id)) and not upload.finished and (end is None or time.monotonic() < end):
            time.sleep(0.1)
        return upload

    def _set(self, upload: Upload) -> None:
        with self._lock:
            self._uploads[upload.id] = upload
            finished = [u for u in self._uploads.values() if u.finished]
            for old in finished[:max(0, len(finished) - KEEP)]:
                del self._uploads[old.id]
            self._write()

    def _embed(self, upload_id: str, parsed: list | None, also: list[str] = ()) -> None:
        """Index an upload's parsed files (None: whatever the folder has that the store lacks)."""
        start = time.monotonic()
        also = [a for a in also if a != upload_id]

        def progress(done: int, total: int) -> None:
            rate = done / max(time.monotonic() - start, 1e-9)
            left = (total - done) / rate if done and rate else None
            self._set(replace(self.get(upload_id), done=done, total=total, seconds_left=left))
        try:
            with self._embedding:
                if parsed is None:
                    report = self.engine.sync(callback=progress)
                    if report.not_written:
                        raise RuntimeError(report.not_written)
                else:
                    self.engine.index(parsed, callback=progress, background=True)
        except Exception as e:   # the files stay in the corpus folder; the next open embeds them
            self._set(replace(self.get(upload_id), state="failed",
                              error=f"{e}; the files are in the corpus folder and will "
                                    "be indexed when the app restarts or `reform-qa index` runs"))
            for other in filter(None, map(self.get, also)):
                self._set(replace(other, state="failed", error=self.get(upload_id).error))
            return
        upload = self.get(upload_id)
        self._set(replace(upload, state="done", done=upload.total, seconds_left=0.0))
        for other in filter(None, map(self.get, also)):
            self._set(replace(other, state="done", done=other.total, seconds_left=0.0))
