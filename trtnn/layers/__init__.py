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
from .conv import Conv1d, Conv3d, ConvTranspose1d, ConvTranspose3d  # noqa: E402

__all__ += ["Conv1d", "Conv3d", "ConvTranspose1d", "ConvTranspose3d"]
from .pooling import AdaptiveAvgPool1d, AdaptiveMaxPool1d, AvgPool1d, AvgPool3d, MaxPool1d, MaxPool3d  # noqa: E402

__all__ += ["AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "AvgPool1d", "AvgPool3d", "MaxPool1d", "MaxPool3d"]
from .activation import Hardtanh, LogSigmoid, PReLU, Softplus  # noqa: E402
from .misc import UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: E402
from .shuffle import ChannelShuffle, PixelShuffle, PixelUnshuffle, Unflatten  # noqa: E402
from .sparse import Embedding  # noqa: E402

__all__ += ["ChannelShuffle", "Embedding", "Hardtanh", "LogSigmoid", "PReLU", "PixelShuffle", "PixelUnshuffle",
            "Softplus", "Unflatten", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
from .activation import (CELU, GLU, Hardshrink, Softmax2d, Softmin, Softshrink, Softsign, Tanhshrink,  # noqa: E402
                         Threshold)
from .misc import AlphaDropout, CosineSimilarity, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout  # noqa: E402
from .padding import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d,  # noqa: E402
                      ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d,
                      ReplicationPad2d, ReplicationPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d)

__all__ += ["AlphaDropout", "CELU", "CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d",
            "ConstantPad2d", "ConstantPad3d", "CosineSimilarity", "Dropout1d", "Dropout2d", "Dropout3d",
            "FeatureAlphaDropout", "GLU", "Hardshrink", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
            "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "Softmax2d", "Softmin", "Softshrink",
            "Softsign", "Tanhshrink", "Threshold", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d"]
from .transformer import TransformerEncoder, TransformerEncoderLayer  # noqa: E402

__all__ += ["TransformerEncoder", "TransformerEncoderLayer"]
from .normalization import LocalResponseNorm  # noqa: E402
from .pooling import AdaptiveAvgPool3d, AdaptiveMaxPool3d  # noqa: E402

__all__ += ["AdaptiveAvgPool3d", "AdaptiveMaxPool3d", "LocalResponseNorm"]
