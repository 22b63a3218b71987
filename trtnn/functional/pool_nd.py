"""1-D and 3-D pooling: 3-D as TensorRT 3-D pooling; 1-D as 2-D pooling over (N, C, L, 1) (TensorRT pools two or three
spatial dims)."""
from __future__ import annotations

from typing import Any, Optional

from ..errors import ShapeError, UnsupportedError
from ..graph.tensor import Tensor
from ._core import IntOrPair, _pair, _static
from .pool import _avg_pool, _max_pool, _pool, adaptive_avg_pool2d, adaptive_max_pool2d
from .shape import squeeze, unsqueeze


def _as_2d(op: str, input: Tensor) -> Tensor:
    if input.ndim != 3:
        raise ShapeError(f"{op} expects a 3-D input (N, C, L); '{input.name}' has shape {input.shape}")
    return unsqueeze(input, -1)


def _one(v: Any, fill: int) -> tuple:
    return (_pair(v, 1)[0], fill)


def max_pool1d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               dilation: IntOrPair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    k = _one(kernel_size, 1)
    s = k if stride is None or stride == [] else _one(stride, 1)
    y = _max_pool("max_pool1d", 2, _as_2d("max_pool1d", input), k, s, _one(padding, 0), _one(dilation, 1),
                  ceil_mode, return_indices)
    return squeeze(y, -1)


def avg_pool1d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    k = _one(kernel_size, 1)
    s = k if stride is None or stride == [] else _one(stride, 1)
    y = _avg_pool("avg_pool1d", 2, _as_2d("avg_pool1d", input), k, s, _one(padding, 0), ceil_mode,
                  count_include_pad, None)
    return squeeze(y, -1)


def max_pool3d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               dilation: IntOrPair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool3d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: Optional[int] = None) -> Tensor:
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    return squeeze(adaptive_avg_pool2d(_as_2d("adaptive_avg_pool1d", input), _one(output_size, 1)), -1)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:
    return squeeze(adaptive_max_pool2d(_as_2d("adaptive_max_pool1d", input), _one(output_size, 1), return_indices), -1)


def _adaptive_3d(op: str, kind: str, input: Tensor, output_size: Any) -> Tensor:
    """Adaptive 3-D pooling where each output size divides the input size (one pooling layer)."""
    if input.ndim != 5:
        raise ShapeError(f"{op} expects a 5-D input (N, C, D, H, W); '{input.name}' has shape {input.shape}")
    spatial = _static(input, op, [2, 3, 4])[2:]
    out = _pair(output_size, 3) if not isinstance(output_size, (list, tuple)) else tuple(output_size)
    out = tuple(n if o is None else int(o) for n, o in zip(spatial, out))
    if any(n % o for n, o in zip(spatial, out)):
        raise UnsupportedError(f"{op} to {out} from {spatial} of '{input.name}': only output sizes that divide the "
                               f"input sizes")
    k = tuple(n // o for n, o in zip(spatial, out))
    return _pool(input, kind, k, k, (0, 0, 0), False, op)[0]


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    return _adaptive_3d("adaptive_avg_pool3d", "AVERAGE", input, output_size)


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:
    if return_indices:
        raise UnsupportedError("adaptive_max_pool3d with return_indices=True is not supported")
    return _adaptive_3d("adaptive_max_pool3d", "MAX", input, output_size)
