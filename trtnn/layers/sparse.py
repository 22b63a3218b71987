"""Embedding with torch.nn's arguments and state_dict key (`weight`)."""
from __future__ import annotations

from typing import Any, Optional

import torch

from .. import functional as F
from ..errors import UnsupportedError
from ..graph.module import Module
from ..graph.parameter import Parameter


class Embedding(Module):
    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: Optional[int] = None,
                 max_norm: Optional[float] = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Any = None, _freeze: bool = False, device: Any = None,
                 dtype: Any = torch.float32) -> None:
        super().__init__()
        if max_norm is not None:
            raise UnsupportedError(f"Embedding max_norm={max_norm}: renormalizing rows is not supported (only None)")
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.weight = Parameter(_weight if _weight is not None else (num_embeddings, embedding_dim), dtype,
                                init=lambda t: t.normal_())

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
