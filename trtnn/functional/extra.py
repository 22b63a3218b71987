"""torch.nn.functional names that are compositions of other ops: normalize, cosine_similarity, upsample_nearest,
upsample_bilinear and the dropout variants (identity at inference)."""
from __future__ import annotations

from typing import Any

from ..errors import UnsupportedError
from ..graph.tensor import Tensor
from .elementwise import abs, div, maximum, mul, pow, sqrt
from .reduce import sum
from .resize import interpolate


def _norm(x: Tensor, p: float, dim: int) -> Tensor:
    if p == 2:
        return sqrt(sum(mul(x, x), dim, keepdim=True))
    if p == 1:
        return sum(abs(x), dim, keepdim=True)
    if p <= 0 or p == float("inf"):
        raise UnsupportedError(f"normalize p={p}: only finite p > 0")
    return pow(sum(pow(abs(x), float(p)), dim, keepdim=True), 1.0 / p)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None) -> Tensor:
    """input / max(||input||_p over dim, eps)."""
    return div(input, maximum(_norm(input, p, dim), eps))


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) over dim (torch's clamping of each norm)."""
    n1, n2 = maximum(_norm(x1, 2, dim), eps), maximum(_norm(x2, 2, dim), eps)
    return sum(div(div(mul(x1, x2), n1), n2), dim)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    return input


dropout2d = dropout3d = alpha_dropout = feature_alpha_dropout = dropout1d
