"""TransformerEncoderLayer and TransformerEncoder with torch.nn's arguments and state_dict keys."""
from __future__ import annotations

import copy
from typing import Any, Callable, Optional, Union

import torch

from .. import functional as F
from ..errors import ConfigError
from ..graph.module import Module
from .attention import MultiheadAttention
from .container import ModuleList
from .linear import Linear
from .misc import Dropout
from .normalization import LayerNorm


def _activation(activation: Union[str, Callable]) -> Callable:
    """'relu' / 'gelu', a trtnn.functional op, or torch's F.relu / F.gelu (taken by name)."""
    name = activation if isinstance(activation, str) else getattr(activation, "__name__", "")
    if name in ("relu", "gelu"):
        return getattr(F, name)
    if callable(activation) and not getattr(activation, "__module__", "").startswith("torch"):
        return activation
    raise ConfigError(f"Transformer activation {activation!r}: expected 'relu', 'gelu' or a trtnn function")


class TransformerEncoderLayer(Module):
    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Union[str, Callable] = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = torch.float32) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias=bias, batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        self.activation = _activation(activation)

    def _sa_block(self, x: F.Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> F.Tensor:
        return self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                              is_causal=is_causal)[0]

    def _ff_block(self, x: F.Tensor) -> F.Tensor:
        return self.linear2(self.activation(self.linear1(x)))

    def forward(self, src: F.Tensor, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> F.Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerEncoder(Module):
    """num_layers copies of encoder_layer (keys layers.<i>.*), then `norm` if given."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Optional[Module] = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: F.Tensor, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: Optional[bool] = None) -> F.Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return self.norm(x) if self.norm is not None else x
