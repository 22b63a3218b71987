"""BatchNorm1d/2d/3d: inference batch norm with torch's keys (weight, bias, running_mean, running_var, num_batches_tracked)."""
from __future__ import annotations

from typing import Any, Optional

import torch

from .. import functional as F
from ..graph.module import Module
from ..graph.parameter import Parameter
from ._init import fill


class _BatchNorm(Module):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = torch.float32, *,
                 bias: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats, self.use_bias = affine, track_running_stats, bias
        self.register_parameter("weight", Parameter((num_features,), dtype, init=fill(1.0)) if affine else None)
        self.register_parameter("bias", Parameter((num_features,), dtype) if affine and bias else None)
        self.register_buffer("running_mean", torch.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", torch.ones(num_features, dtype=dtype))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.int64))

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias, False,
                            self.momentum or 0.0, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.use_bias}, track_running_stats={self.track_running_stats}")


class BatchNorm2d(_BatchNorm):
    pass


class BatchNorm1d(_BatchNorm):
    pass


class BatchNorm3d(_BatchNorm):
    pass
