"""trtnn.functional: torch.nn.functional's names, arguments and semantics, emitted as TensorRT layers.

Every op takes trtnn Tensors (plus Python scalars / torch / numpy constants where torch allows them) and
returns trtnn Tensors. Layers are named `module.path:op` by the tensors' build context. One module per concern
(elementwise, activation, shape, index, reduce, linalg, conv, pool, resize, sampling, control); importing this
package also installs trtnn.Tensor's operators and methods (see _methods.py).
"""
import inspect

from ._core import IntOrPair, Spec, cast, compute_dtype, constant  # noqa: F401
from .elementwise import (abs, add, ceil, cos, div, eq, erf, exp, floor, floor_divide, ge, gt, le, log,  # noqa: F401
                          logical_and, logical_not, logical_or, logical_xor, lt, maximum, minimum, mul, ne, neg, pow,
                          reciprocal, round, rsqrt, sign, sin, sqrt, sub, tan, where)
from .shape import (cat, chunk, expand, expand_as, flatten, narrow, pad, permute, reshape, split, squeeze,  # noqa: F401
                    stack, transpose, unbind, unsqueeze, view)
from .index import gather, getitem, index_select  # noqa: F401
from .reduce import ValuesIndices, amax, amin, argmax, argmin, max, mean, min, prod, sum, topk  # noqa: F401
from .activation import (clamp, clip, dropout, elu, gelu, hardsigmoid, hardswish, hardtanh, leaky_relu,  # noqa: F401
                         log_softmax, mish, relu, relu6, selu, sigmoid, silu, softmax, softplus, tanh)
from .linalg import linear, matmul  # noqa: F401
from .conv import batch_norm, conv2d, conv_transpose2d  # noqa: F401
from .pool import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d  # noqa: F401
from .resize import interpolate, upsample  # noqa: F401
from .sampling import deform_conv2d, grid_sample  # noqa: F401
from .control import fixed_point  # noqa: F401
from ._methods import install_tensor_methods
from .guard import NO_TENSOR_OPS, guarded

install_tensor_methods()

__all__ = [
    "abs", "adaptive_avg_pool2d", "adaptive_max_pool2d", "add", "amax", "amin", "argmax", "argmin", "avg_pool2d",
    "batch_norm", "cast", "cat", "ceil", "chunk", "clamp", "clip", "compute_dtype", "constant", "conv2d",
    "conv_transpose2d", "cos", "deform_conv2d", "div", "dropout", "elu", "eq", "erf", "exp", "expand", "expand_as",
    "fixed_point", "flatten", "floor", "floor_divide", "gather", "ge", "gelu", "getitem", "grid_sample", "gt",
    "hardsigmoid", "hardswish", "hardtanh", "index_select", "interpolate", "le", "leaky_relu", "linear", "log",
    "log_softmax", "logical_and", "logical_not", "logical_or", "logical_xor", "lt", "matmul", "max", "max_pool2d",
    "maximum", "mean", "min", "minimum", "mish", "mul", "narrow", "ne", "neg", "pad", "permute", "pow", "prod",
    "reciprocal", "relu", "relu6", "reshape", "round", "rsqrt", "selu", "sigmoid", "sign", "silu", "sin", "softmax",
    "softplus", "split", "sqrt", "squeeze", "stack", "sub", "sum", "tan", "tanh", "topk", "transpose", "unbind",
    "unsqueeze", "upsample", "ValuesIndices", "view", "where",
]

# ---- ops for modern networks (normalization, attention, tensor ops, 1-D/3-D) ----
from .normalization import group_norm, instance_norm, layer_norm, rms_norm  # noqa: E402,F401

__all__ += ["group_norm", "instance_norm", "layer_norm", "rms_norm"]
from .attention import scaled_dot_product_attention  # noqa: E402,F401

__all__ += ["scaled_dot_product_attention"]
from .transform import flip, repeat, roll, tile  # noqa: E402,F401
from .masking import masked_fill, tril, triu  # noqa: E402,F401
from .creation import arange, full_like, ones_like, zeros_like  # noqa: E402,F401
from .cumulative import cumsum, einsum  # noqa: E402,F401

__all__ += ["arange", "cumsum", "einsum", "flip", "full_like", "masked_fill", "ones_like", "repeat", "roll", "tile",
            "tril", "triu", "zeros_like"]
from .conv_nd import conv1d, conv3d, conv_transpose1d, conv_transpose3d  # noqa: E402,F401

__all__ += ["conv1d", "conv3d", "conv_transpose1d", "conv_transpose3d"]
from .pool_nd import (adaptive_avg_pool1d, adaptive_max_pool1d, avg_pool1d, avg_pool3d, max_pool1d,  # noqa: E402,F401
                      max_pool3d)

__all__ += ["adaptive_avg_pool1d", "adaptive_max_pool1d", "avg_pool1d", "avg_pool3d", "max_pool1d", "max_pool3d"]
from .activation import logsigmoid, prelu  # noqa: E402,F401
from .rearrange import channel_shuffle, pixel_shuffle, pixel_unshuffle, unflatten  # noqa: E402,F401
from .embedding import embedding  # noqa: E402,F401

__all__ += ["channel_shuffle", "embedding", "logsigmoid", "pixel_shuffle", "pixel_unshuffle", "prelu", "unflatten"]
from .activation import (celu, glu, hardshrink, softmin, softshrink, softsign, tanhshrink,  # noqa: E402,F401
                         threshold)
from .extra import (alpha_dropout, cosine_similarity, dropout1d, dropout2d, dropout3d,  # noqa: E402,F401
                    feature_alpha_dropout, normalize, upsample_bilinear, upsample_nearest)

__all__ += ["alpha_dropout", "celu", "cosine_similarity", "dropout1d", "dropout2d", "dropout3d",
            "feature_alpha_dropout", "glu", "hardshrink", "normalize", "softmin", "softshrink", "softsign",
            "tanhshrink", "threshold", "upsample_bilinear", "upsample_nearest"]
from .normalization import local_response_norm  # noqa: E402,F401
from .pool_nd import adaptive_avg_pool3d, adaptive_max_pool3d  # noqa: E402,F401

__all__ += ["adaptive_avg_pool3d", "adaptive_max_pool3d", "local_response_norm"]

# every public op checks first that it was given a trtnn Tensor (see guard.py); internal calls skip the check
for _name in __all__:
    if _name not in NO_TENSOR_OPS and inspect.isfunction(globals()[_name]):
        globals()[_name] = guarded(globals()[_name])
del _name
