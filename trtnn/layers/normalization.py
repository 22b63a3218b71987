"""LayerNorm, GroupNorm, InstanceNorm1d/2d/3d and RMSNorm with torch.nn's arguments and state_dict keys."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import torch

from .. import functional as F
from ..errors import ShapeError
from ..graph.module import Module
from ..graph.parameter import Parameter
from ._init import fill

Shape = Union[int, Sequence[int]]


def _shape(normalized_shape: Shape) -> Tuple[int, ...]:
    return (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(int(s) for s in normalized_shape)


class LayerNorm(Module):
    def __init__(self, normalized_shape: Shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device: Any = None, dtype: Any = torch.float32) -> None:
        super().__init__()
        self.normalized_shape, self.eps, self.elementwise_affine = _shape(normalized_shape), eps, elementwise_affine
        shape = self.normalized_shape
        self.register_parameter("weight", Parameter(shape, dtype, init=fill(1.0)) if elementwise_affine else None)
        self.register_parameter("bias", Parameter(shape, dtype) if elementwise_affine and bias else None)

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class RMSNorm(Module):
    def __init__(self, normalized_shape: Shape, eps: Optional[float] = None, elementwise_affine: bool = True,
                 device: Any = None, dtype: Any = torch.float32) -> None:
        super().__init__()
        self.normalized_shape, self.eps, self.elementwise_affine = _shape(normalized_shape), eps, elementwise_affine
        shape = self.normalized_shape
        self.register_parameter("weight", Parameter(shape, dtype, init=fill(1.0)) if elementwise_affine else None)

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, device: Any = None,
                 dtype: Any = torch.float32) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ShapeError(f"GroupNorm: num_groups={num_groups} must divide num_channels={num_channels}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.register_parameter("weight", Parameter((num_channels,), dtype, init=fill(1.0)) if affine else None)
        self.register_parameter("bias", Parameter((num_channels,), dtype) if affine else None)

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(Module):
    """Instance norm of an (N, C, *spatial) input; an unbatched (C, *spatial) input gets a batch dim of 1."""

    spatial = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: Any = None, dtype: Any = torch.float32) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.register_parameter("weight", Parameter((num_features,), dtype, init=fill(1.0)) if affine else None)
        self.register_parameter("bias", Parameter((num_features,), dtype) if affine else None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", torch.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)

    def forward(self, input: F.Tensor) -> F.Tensor:
        n = self.spatial + 2
        if input.ndim not in (n - 1, n):
            raise ShapeError(f"{type(self).__name__} expects a {n - 1}-D or {n}-D input; '{input.name}' has shape "
                             f"{input.shape}")
        x = F.unsqueeze(input, 0) if input.ndim == n - 1 else input
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            not self.track_running_stats, self.momentum or 0.0, self.eps)
        return F.squeeze(y, 0) if input.ndim == n - 1 else y

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    spatial = 1


class InstanceNorm2d(_InstanceNorm):
    spatial = 2


class InstanceNorm3d(_InstanceNorm):
    spatial = 3


class LocalResponseNorm(Module):
    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: F.Tensor) -> F.Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
