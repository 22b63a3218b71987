"""MultiheadAttention with torch.nn's arguments, masks, outputs and state_dict keys (in_proj_weight, or
q_proj_weight/k_proj_weight/v_proj_weight when kdim/vdim differ from embed_dim; in_proj_bias; out_proj)."""
from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import torch

from .. import functional as F
from ..errors import ConfigError, ShapeError, UnsupportedError
from ..functional.attention import attention_scores
from ..graph.module import Module
from ..graph.parameter import Parameter
from ..graph.tensor import Tensor
from ._init import kaiming_uniform
from .linear import Linear


def _additive(mask: Any, like: Tensor, what: str) -> Any:
    """A MultiheadAttention mask (bool True = excluded, or float added) as an additive float mask."""
    if not isinstance(mask, Tensor):
        m = torch.as_tensor(mask)
        return torch.zeros(m.shape).masked_fill(m, float("-inf")) if m.dtype == torch.bool else m.float()
    if mask.dtype == torch.bool:
        return F.where(mask, float("-inf"), F.constant(0.0, like))
    if not mask.dtype.is_floating_point:
        raise ShapeError(f"MultiheadAttention: {what} '{mask.name}' must be bool or floating point, got {mask.dtype}")
    return mask


class MultiheadAttention(Module):
    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: Optional[int] = None,
                 vdim: Optional[int] = None, batch_first: bool = False, device: Any = None,
                 dtype: Any = torch.float32) -> None:
        super().__init__()
        if add_bias_kv:
            raise UnsupportedError("MultiheadAttention add_bias_kv=True is not supported (only add_bias_kv=False)")
        if add_zero_attn:
            raise UnsupportedError("MultiheadAttention add_zero_attn=True is not supported (only add_zero_attn=False)")
        if num_heads <= 0 or embed_dim % num_heads:
            raise ConfigError(f"MultiheadAttention: embed_dim={embed_dim} must be divisible by num_heads={num_heads}")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, dropout, batch_first
        self.kdim, self.vdim = kdim or embed_dim, vdim or embed_dim
        self.head_dim = embed_dim // num_heads
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        init = kaiming_uniform(embed_dim)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter((3 * embed_dim, embed_dim), dtype, init=init)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter((embed_dim, embed_dim), dtype, init=init)
            self.k_proj_weight = Parameter((embed_dim, self.kdim), dtype, init=init)
            self.v_proj_weight = Parameter((embed_dim, self.vdim), dtype, init=init)
        self.register_parameter("in_proj_bias", Parameter((3 * embed_dim,), dtype) if bias else None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)

    def _weights(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self._qkv_same_embed_dim:
            return tuple(self.in_proj_weight.data.chunk(3))
        return self.q_proj_weight.data, self.k_proj_weight.data, self.v_proj_weight.data

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        wq, wk, wv = self._weights()
        bq, bk, bv = self.in_proj_bias.data.chunk(3) if self.in_proj_bias is not None else (None,) * 3
        if query is key and key is value and self._qkv_same_embed_dim:  # self-attention: one matrix multiply
            return tuple(F.chunk(F.linear(query, self.in_proj_weight, self.in_proj_bias), 3, -1))
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def _heads(self, x: Tensor) -> Tensor:
        """(N, L, E) -> (N, H, L, E / H)."""
        n, length = x.shape[0], x.shape[1]
        return F.permute(F.reshape(x, (n, length, self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def _mask(self, like: Tensor, n: int, key_padding_mask: Any, attn_mask: Any) -> Any:
        """attn_mask (L, S) or (N*H, L, S) and key_padding_mask (N, S) as one additive mask (N|1, H|1, L, S)."""
        mask = None
        if attn_mask is not None:
            m = _additive(attn_mask, like, "attn_mask")
            shape = tuple(m.shape)
            if len(shape) == 3:
                m = m.reshape(n, self.num_heads, *shape[1:]) if isinstance(m, torch.Tensor) else \
                    F.reshape(m, (n, self.num_heads) + shape[1:])
            elif len(shape) != 2:
                raise ShapeError(f"MultiheadAttention: attn_mask must be 2-D (L, S) or 3-D (N*num_heads, L, S), "
                                 f"got shape {shape}")
            mask = m
        if key_padding_mask is not None:
            k = _additive(key_padding_mask, like, "key_padding_mask")
            k = k.reshape(n, 1, 1, -1) if isinstance(k, torch.Tensor) else F.reshape(k, (n, 1, 1, k.shape[-1]))
            if mask is None:
                mask = k
            elif isinstance(mask, torch.Tensor) and isinstance(k, torch.Tensor):
                mask = mask + k
            else:
                mask = F.add(mask, k)
        return mask

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> Tuple[Tensor, Optional[Tensor]]:
        if is_causal and attn_mask is None:
            raise ConfigError("MultiheadAttention: is_causal=True is a hint that needs attn_mask (as in torch)")
        unbatched = query.ndim == 2
        if query.ndim not in (2, 3):
            raise ShapeError(f"MultiheadAttention expects a 2-D or 3-D query; '{query.name}' has shape {query.shape}")
        same = query is key and key is value
        if unbatched:
            query, key, value = (F.unsqueeze(t, 0) for t in (query, key, value))
            key_padding_mask = None if key_padding_mask is None else key_padding_mask[None]
        elif not self.batch_first:
            query, key, value = (F.transpose(t, 0, 1) for t in (query, key, value))
        if same:
            key = value = query
        n = query.shape[0]
        q, k, v = (self._heads(t) for t in self._project(query, key, value))
        mask = self._mask(q, n, key_padding_mask, attn_mask)
        weights = None
        if need_weights:
            weights = attention_scores(q, k, 1.0 / math.sqrt(self.head_dim), mask)
            out = F.matmul(weights, v)
            if average_attn_weights:
                weights = F.mean(weights, 1)
            weights = F.squeeze(weights, 0) if unbatched else weights
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out = F.reshape(F.permute(out, (0, 2, 1, 3)), (n, out.shape[2], self.embed_dim))
        out = self.out_proj(out)
        if unbatched:
            out = F.squeeze(out, 0)
        elif not self.batch_first:
            out = F.transpose(out, 0, 1)
        return out, weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"
