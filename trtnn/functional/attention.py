"""scaled_dot_product_attention: TensorRT's IAttention layer (add_attention_v2) for 4-D inputs where the backend
has it, else matmul-softmax-matmul (which TensorRT fuses)."""
from __future__ import annotations

import math
from typing import Any, Optional

import torch

from ..errors import ConfigError, ShapeError, UnsupportedError
from ..graph.tensor import Tensor
from . import dims as D
from .core import layer_output, trt_of, unsqueeze_front, const_value, cast, constant
from .activation import softmax
from .elementwise import add, le, mul, rsqrt, where
from .linalg import matmul
from .shape import transpose, unsqueeze


def _mask_tensor(mask: Any, like: Tensor) -> Tensor:
    """A mask as a Tensor: bool stays bool, anything else takes `like`'s dtype."""
    if isinstance(mask, Tensor):
        return mask if mask.dtype == torch.bool else cast(mask, like.dtype)
    v = const_value(mask)
    return like.ctx.constant(v, torch.bool if v.dtype == torch.bool else like.dtype)


def _float_mask(mask: Any, like: Tensor) -> Tensor:
    """An SDPA mask as an additive float mask: bool True = attend (0), False = excluded (-inf)."""
    if not isinstance(mask, Tensor):
        v = const_value(mask)
        v = torch.zeros(v.shape).masked_fill(~v, float("-inf")) if v.dtype == torch.bool else v
        return like.ctx.constant(v, like.dtype)
    if mask.dtype == torch.bool:
        return where(mask, constant(0.0, like), float("-inf"))
    return cast(mask, like.dtype)


def _causal_mask(q: Tensor, k: Tensor) -> Any:
    """torch's is_causal mask (key j attends for query i when j <= i), from the runtime lengths where they vary."""
    L, S = q.shape[-2], k.shape[-2]
    if L >= 0 and S >= 0:
        return torch.ones(L, S, dtype=torch.bool).tril()
    rows = unsqueeze(D.ramp(D.sym_size(q, -2), q, torch.int32), 1)
    cols = unsqueeze(D.ramp(D.sym_size(k, -2), q, torch.int32), 0)
    return le(cols, rows)


def attention_scores(q: Tensor, k: Tensor, scale: Any, mask: Any = None) -> Tensor:
    """softmax(q @ k^T * scale + mask) over the last dim (mask: additive float, or bool with True = attend)."""
    s = matmul(mul(q, scale), transpose(k, -2, -1))
    if mask is not None:
        s = add(s, _float_mask(mask, s))
    return softmax(s, -1)


def _fused(q: Tensor, k: Tensor, v: Tensor, mask: Any, is_causal: bool, scale: Any) -> Optional[Tensor]:
    """IAttention on 4-D (B, H, L, E) inputs with key and value of one shape, or None where it does not apply (or
    the backend has no such layer)."""
    trt = trt_of(q)
    fits = q.ndim == 4 and k.shape == v.shape and q.shape[:2] == k.shape[:2] and min(q.shape[:2]) >= 0
    if not fits or not hasattr(q.ctx.network, "add_attention_v2"):
        return None
    causal = trt.CausalMaskKind.UPPER_LEFT if is_causal else trt.CausalMaskKind.NONE
    qs = mul(q, scale)
    layer = q.ctx.add("attention", "add_attention_v2", qs.use(), k.use(), v.use(), trt.AttentionNormalizationOp.SOFTMAX,
                      causal)
    layer.decomposable = True  # fall back to primitive ops where no fused kernel fits (e.g. CPU-only builds)
    if mask is not None:
        m = _mask_tensor(mask, q)
        layer.mask = unsqueeze_front(m, 4 - m.ndim).use()
    return layer_output(layer, q.ctx)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: Optional[float] = None,
                                 enable_gqa: bool = False) -> Tensor:
    """torch's SDPA (inference): softmax(Q K^T * scale + mask) V; a bool attn_mask marks the positions that attend."""
    if dropout_p != 0.0:
        raise UnsupportedError(f"scaled_dot_product_attention dropout_p={dropout_p}: only 0.0 (inference)")
    if enable_gqa:
        raise UnsupportedError("scaled_dot_product_attention enable_gqa=True is not supported")
    if is_causal and attn_mask is not None:
        raise ConfigError("scaled_dot_product_attention: attn_mask and is_causal=True cannot both be given (as in torch)")
    if query.ndim < 2 or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ShapeError(f"scaled_dot_product_attention: query, key, value need the same rank >= 2; got "
                         f"'{query.name}' {query.shape}, '{key.name}' {key.shape}, '{value.name}' {value.shape}")
    e = query.shape[-1]
    if e >= 0 and key.shape[-1] >= 0 and key.shape[-1] != e:
        raise ShapeError(f"scaled_dot_product_attention: query '{query.name}' {query.shape} and key '{key.name}' "
                         f"{key.shape} differ in the last dim")
    if scale is not None:
        scale = float(scale)
    elif e >= 0:
        scale = 1.0 / math.sqrt(e)
    else:  # 1 / sqrt(E) of the runtime head size
        scale = cast(rsqrt(cast(D.sym_size(query, -1), torch.float32)), query.dtype)
    fused = _fused(query, key, value, attn_mask, is_causal, scale)
    if fused is not None:
        return fused
    mask = _causal_mask(query, key) if is_causal else attn_mask
    return matmul(attention_scores(query, key, scale, mask), value)

