"""trtnn.functional: torch.nn.functional's names, arguments and semantics, emitted as TensorRT layers.

Every op takes trtnn Tensors (plus Python scalars / torch / numpy constants where torch allows them) and
returns trtnn Tensors. Layers are named `module.path:op` by the tensors' build context. One module per concern
(elementwise, activation, shape, index, reduce, linalg, conv, pool, resize, sampling, normalization, attention,
transform, masking, creation, cumulative, rearrange, embedding, control; dims: sizes known only when the engine
runs); importing this package also installs trtnn.Tensor's operators and methods (see _methods.py).
"""
import inspect

from .core import cast, compute_dtype, constant, IntOrPair, Spec
from .elementwise import (abs, add, ceil, cos, div, eq, erf, exp, floor, floor_divide, ge, gt, le, log, logical_and,
                          logical_not, logical_or, logical_xor, lt, maximum, minimum, mul, ne, neg, pow, reciprocal,
                          round, rsqrt, sign, sin, sqrt, sub, tan, where)
from .shape import (cat, chunk, expand, expand_as, flatten, narrow, pad, permute, reshape, split, squeeze, stack,
                    transpose, unbind, unsqueeze, view)
from .index import gather, getitem, index_select
from .reduce import amax, amin, argmax, argmin, max, mean, min, prod, sum, topk, ValuesIndices
from .activation import (alpha_dropout, celu, clamp, clip, dropout, dropout1d, dropout2d, dropout3d, elu,
                         feature_alpha_dropout, gelu, glu, hardshrink, hardsigmoid, hardswish, hardtanh, leaky_relu,
                         log_softmax, logsigmoid, mish, prelu, relu, relu6, selu, sigmoid, silu, softmax, softmin,
                         softplus, softshrink, softsign, tanh, tanhshrink, threshold)
from .linalg import linear, matmul
from .conv import batch_norm, conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d
from .pool import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d,
                   adaptive_max_pool2d, adaptive_max_pool3d, avg_pool1d, avg_pool2d, avg_pool3d, max_pool1d, max_pool2d,
                   max_pool3d)
from .resize import interpolate, upsample, upsample_bilinear, upsample_nearest
from .sampling import deform_conv2d, grid_sample
from .control import fixed_point
from .normalization import (cosine_similarity, group_norm, instance_norm, layer_norm, local_response_norm, normalize,
                            rms_norm)
from .attention import scaled_dot_product_attention
from .transform import flip, repeat, roll, tile
from .masking import masked_fill, tril, triu
from .creation import arange, full_like, ones_like, zeros_like
from .cumulative import cumsum, einsum
from .rearrange import channel_shuffle, pixel_shuffle, pixel_unshuffle, unflatten
from .embedding import embedding
from .dims import sym_shape, sym_size
from .methods import install_tensor_methods
from .guard import NO_TENSOR_OPS, guarded

install_tensor_methods()

__all__ = [
    "abs", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "adaptive_max_pool3d", "add", "alpha_dropout", "amax", "amin", "arange", "argmax",
    "argmin", "avg_pool1d", "avg_pool2d", "avg_pool3d", "batch_norm", "cast", "cat", "ceil", "celu",
    "channel_shuffle", "chunk", "clamp", "clip", "compute_dtype", "constant", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "cos", "cosine_similarity", "cumsum",
    "deform_conv2d", "div", "dropout", "dropout1d", "dropout2d", "dropout3d", "einsum", "elu", "embedding", "eq",
    "erf", "exp", "expand", "expand_as", "feature_alpha_dropout", "fixed_point", "flatten", "flip", "floor",
    "floor_divide", "full_like", "gather", "ge", "gelu", "getitem", "glu", "grid_sample", "group_norm", "gt",
    "hardshrink", "hardsigmoid", "hardswish", "hardtanh", "index_select", "instance_norm", "IntOrPair",
    "interpolate", "layer_norm", "le", "leaky_relu", "linear", "local_response_norm", "log", "log_softmax",
    "logical_and", "logical_not", "logical_or", "logical_xor", "logsigmoid", "lt", "masked_fill", "matmul", "max",
    "max_pool1d", "max_pool2d", "max_pool3d", "maximum", "mean", "min", "minimum", "mish", "mul", "narrow", "ne",
    "neg", "normalize", "ones_like", "pad", "permute", "pixel_shuffle", "pixel_unshuffle", "pow", "prelu", "prod",
    "reciprocal", "relu", "relu6", "repeat", "reshape", "rms_norm", "roll", "round", "rsqrt",
    "scaled_dot_product_attention", "selu", "sigmoid", "sign", "silu", "sin", "softmax", "softmin", "softplus",
    "softshrink", "softsign", "Spec", "split", "sqrt", "squeeze", "stack", "sub", "sum", "sym_shape", "sym_size",
    "tan", "tanh", "tanhshrink", "threshold", "tile", "topk", "transpose", "tril", "triu", "unbind", "unflatten",
    "unsqueeze", "upsample", "upsample_bilinear", "upsample_nearest", "ValuesIndices", "view", "where",
    "zeros_like",
]

# every public op checks first that it was given a trtnn Tensor (see guard.py); internal calls skip the check
for _name in __all__:
    if _name not in NO_TENSOR_OPS and inspect.isfunction(globals()[_name]):
        globals()[_name] = guarded(globals()[_name])
del _name
