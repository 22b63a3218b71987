"""Layers with torch.nn's class names, constructor arguments and state_dict keys."""
from .activation import ELU, GELU, SELU, Hardsigmoid, Hardswish, LeakyReLU, LogSoftmax, Mish, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .container import Identity, ModuleDict, ModuleList, Sequential
from .conv import Conv2d, ConvTranspose2d, DeformConv2d
from .linear import Linear
from .misc import Dropout, Flatten, Upsample
from .pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d

__all__ = [
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d",
    "DeformConv2d", "Dropout", "ELU", "Flatten", "GELU", "Hardsigmoid", "Hardswish", "Identity", "LeakyReLU", "Linear", "LogSoftmax",
    "MaxPool2d", "Mish", "ModuleDict", "ModuleList", "ReLU", "ReLU6", "SELU", "Sequential", "SiLU", "Sigmoid",
    "Softmax", "Tanh", "Upsample",
]

# ---- layers for modern networks (normalization, attention, 1-D/3-D, misc) ----
from .batchnorm import BatchNorm3d  # noqa: E402
from .normalization import GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, LayerNorm, RMSNorm  # noqa: E402

__all__ += ["BatchNorm3d", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LayerNorm", "RMSNorm"]
from .attention import MultiheadAttention  # noqa: E402

__all__ += ["MultiheadAttention"]
