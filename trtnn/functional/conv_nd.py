"""1-D and 3-D convolutions: conv3d / conv_transpose3d are TensorRT 3-D layers; conv1d / conv_transpose1d run as 2-D
layers over (N, C, L, 1), as TensorRT's convolution needs two spatial dims."""
from __future__ import annotations

from typing import Any

from ..errors import ShapeError
from ..graph.tensor import Tensor
from ._core import IntOrPair, _pair, _value
from .conv import _convolution, _deconvolution
from .shape import squeeze, unsqueeze


def _widen(v: Any, fill: int) -> Any:
    """A 1-D conv argument (int or 1-tuple; strings pass) as the 2-D argument over (L, 1)."""
    return v if isinstance(v, str) else (_pair(v, 1)[0], fill)


def _kernel_2d(weight: Any) -> Any:
    return unsqueeze(weight, -1) if isinstance(weight, Tensor) else _value(weight).unsqueeze(-1)


def _check_1d(op: str, input: Tensor) -> None:
    if input.ndim != 3:
        raise ShapeError(f"{op} expects a 3-D input (N, C, L); '{input.name}' has shape {input.shape}")


def conv1d(input: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1, padding: Any = 0,
           dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    _check_1d("conv1d", input)
    y = _convolution("conv1d", 2, unsqueeze(input, -1), _kernel_2d(weight), bias, _widen(stride, 1),
                     _widen(padding, 0), _widen(dilation, 1), groups)
    return squeeze(y, -1)


def conv3d(input: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1, padding: Any = 0,
           dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    return _convolution("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1, padding: IntOrPair = 0,
                     output_padding: IntOrPair = 0, groups: int = 1, dilation: IntOrPair = 1) -> Tensor:
    _check_1d("conv_transpose1d", input)
    y = _deconvolution("conv_transpose1d", 2, unsqueeze(input, -1), _value(weight).unsqueeze(-1), bias,
                       _widen(stride, 1), _widen(padding, 0), _widen(output_padding, 0), groups, _widen(dilation, 1))
    return squeeze(y, -1)


def conv_transpose3d(input: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1, padding: IntOrPair = 0,
                     output_padding: IntOrPair = 0, groups: int = 1, dilation: IntOrPair = 1) -> Tensor:
    return _deconvolution("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups,
                          dilation)
