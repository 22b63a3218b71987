"""Conv2d and ConvTranspose2d with torch.nn's arguments and state_dict keys."""
from __future__ import annotations

from typing import Any, Union

import torch

from .. import functional as F
from ..errors import ShapeError, UnsupportedError
from ..module import Module
from ..parameter import Parameter
from ._init import kaiming_uniform

IntOrPair = Union[int, tuple]


def _pair(v: Any) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


class _ConvNd(Module):
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
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.dilation = _pair(kernel_size), _pair(stride), _pair(dilation)
        self.padding = padding if isinstance(padding, str) else _pair(padding)
        self.output_padding, self.groups, self.padding_mode = _pair(output_padding), groups, padding_mode
        self.transposed = transposed
        shape = (in_channels, out_channels // groups) if transposed else (out_channels, in_channels // groups)
        fan_in = (shape[1] * self.kernel_size[0] * self.kernel_size[1])
        self.weight = Parameter(shape + self.kernel_size, dtype, init=kaiming_uniform(fan_in))
        if bias:
            self.bias = Parameter((out_channels,), dtype, init=kaiming_uniform(fan_in))
        else:
            self.register_parameter("bias", None)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0, 0), "valid"):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
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
        if self.padding_mode != "zeros" and self.padding != (0, 0):
            ph, pw = (self.padding if not isinstance(self.padding, str) else (0, 0))
            input = F.pad(input, (pw, pw, ph, ph), mode=self.padding_mode)
            return F.conv2d(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair, stride: IntOrPair = 1,
                 padding: IntOrPair = 0, output_padding: IntOrPair = 0, groups: int = 1, bias: bool = True,
                 dilation: IntOrPair = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = torch.float32) -> None:
        if padding_mode != "zeros":
            raise UnsupportedError('Only "zeros" padding mode is supported for ConvTranspose2d')
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
