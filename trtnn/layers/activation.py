"""Activation modules with torch.nn's names and arguments."""
from __future__ import annotations

from typing import Any

import torch

from .. import functional as F
from ..graph.module import Module
from ..graph.parameter import Parameter
from ._init import fill


class _Activation(Module):
    """An activation without parameters; subclasses name the functional op."""

    op = staticmethod(F.relu)

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: F.Tensor) -> F.Tensor:
        return type(self).op(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_Activation): op = staticmethod(F.relu)
class ReLU6(_Activation): op = staticmethod(F.relu6)
class Sigmoid(_Activation): op = staticmethod(F.sigmoid)
class Tanh(_Activation): op = staticmethod(F.tanh)
class SiLU(_Activation): op = staticmethod(F.silu)
class Hardswish(_Activation): op = staticmethod(F.hardswish)
class Hardsigmoid(_Activation): op = staticmethod(F.hardsigmoid)
class Mish(_Activation): op = staticmethod(F.mish)
class SELU(_Activation): op = staticmethod(F.selu)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate='{self.approximate}'"


class Softmax(Module):
    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.log_softmax(input, self.dim)


class LogSigmoid(Module):
    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.logsigmoid(input)


class Hardtanh(Module):
    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class PReLU(Module):
    """One learnable slope, or one per channel (num_parameters = channels); key `weight`."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None,
                 dtype: Any = torch.float32) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter((num_parameters,), dtype, init=fill(init))

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softsign(_Activation):
    op = staticmethod(F.softsign)

    def __init__(self) -> None:
        super().__init__()


class Tanhshrink(Softsign):
    op = staticmethod(F.tanhshrink)


class Softmin(Softmax):
    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.softmin(input, self.dim)


class Softmax2d(Module):
    """Softmax over the channels of a (N, C, H, W) or (C, H, W) input."""

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.softmax(input, -3)


class Hardshrink(Module):
    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.softshrink(input, self.lambd)


class Threshold(Module):
    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.threshold(input, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}"


class GLU(Module):
    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class CELU(ELU):
    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.celu(input, self.alpha)
