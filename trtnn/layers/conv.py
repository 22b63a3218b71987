"""Conv1d/2d/3d and ConvTranspose1d/2d/3d with torch.nn's arguments and state_dict keys."""
from __future__ import annotations

import math
from typing import Any, Union

import torch

from .. import functional as F
from ..errors import ShapeError, UnsupportedError
from ..graph.module import Module
from ..graph.parameter import Parameter
from ._init import kaiming_uniform

IntOrPair = Union[int, tuple]


def _ntuple(v: Any, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _ConvNd(Module):
    nd = 2  # spatial dims
    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair, stride: IntOrPair, padding: Any,
                 dilation: IntOrPair, groups: int, bias: bool, padding_mode: str, transposed: bool,
                 output_padding: IntOrPair = 0, dtype: Any = torch.float32) -> None:
        super().__init__()
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ShapeError(
                f"{type(self).__name__}: groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}"
            )
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise UnsupportedError(f"padding_mode={padding_mode!r}; expected zeros, reflect, replicate or circular")
        n = self.nd
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _ntuple(kernel_size, n), _ntuple(stride, n)
        self.dilation = _ntuple(dilation, n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        self.output_padding, self.groups, self.padding_mode = _ntuple(output_padding, n), groups, padding_mode
        self.transposed = transposed
        shape = (in_channels, out_channels // groups) if transposed else (out_channels, in_channels // groups)
        fan_in = shape[1] * math.prod(self.kernel_size)
        self.weight = Parameter(shape + self.kernel_size, dtype, init=kaiming_uniform(fan_in))
        if bias:
            self.bias = Parameter((out_channels,), dtype, init=kaiming_uniform(fan_in))
        else:
            self.register_parameter("bias", None)

    def extra_repr(self) -> str:
        zero, one = (0,) * self.nd, (1,) * self.nd
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in (zero, "valid"):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != one:
            s += f", dilation={self.dilation}"
        if self.output_padding != zero:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair, stride: IntOrPair = 1,
                 padding: Any = 0, dilation: IntOrPair = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = torch.float32) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, False, dtype=dtype)

    def forward(self, input: F.Tensor) -> F.Tensor:
        return self._conv_forward(input, F.conv2d)

    def _conv_forward(self, input: F.Tensor, conv: Any) -> F.Tensor:
        if self.padding_mode != "zeros" and not isinstance(self.padding, str) and any(self.padding):
            pads = []
            for p in reversed(self.padding):
                pads += [p, p]
            input = F.pad(input, tuple(pads), mode=self.padding_mode)
            return conv(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair, stride: IntOrPair = 1,
                 padding: IntOrPair = 0, output_padding: IntOrPair = 0, groups: int = 1, bias: bool = True,
                 dilation: IntOrPair = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = torch.float32) -> None:
        if padding_mode != "zeros":
            raise UnsupportedError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, True, output_padding, dtype=dtype)

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)


class DeformConv2d(_ConvNd):
    """torchvision.ops.DeformConv2d: forward(input, offset, mask=None); DCNv2 when a mask is given."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair, stride: IntOrPair = 1,
                 padding: IntOrPair = 0, dilation: IntOrPair = 1, groups: int = 1, bias: bool = True,
                 dtype: Any = torch.float32) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, "zeros",
                         False, dtype=dtype)

    def forward(self, input: F.Tensor, offset: F.Tensor, mask: Any = None) -> F.Tensor:
        return F.deform_conv2d(input, offset, self.weight, self.bias, self.stride, self.padding, self.dilation, mask)


class Conv1d(Conv2d):
    nd = 1

    def forward(self, input: F.Tensor) -> F.Tensor:
        return self._conv_forward(input, F.conv1d)


class Conv3d(Conv2d):
    nd = 3

    def forward(self, input: F.Tensor) -> F.Tensor:
        return self._conv_forward(input, F.conv3d)


class ConvTranspose1d(ConvTranspose2d):
    nd = 1

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)


class ConvTranspose3d(ConvTranspose2d):
    nd = 3

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)
