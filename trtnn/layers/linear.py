"""Linear with torch.nn's arguments and keys."""
from __future__ import annotations

from typing import Any

import torch

from .. import functional as F
from ..graph.module import Module
from ..graph.parameter import Parameter
from ._init import kaiming_uniform


class Linear(Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = torch.float32) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter((out_features, in_features), dtype, init=kaiming_uniform(in_features))
        if bias:
            self.bias = Parameter((out_features,), dtype, init=kaiming_uniform(in_features))
        else:
            self.register_parameter("bias", None)

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
