"""More torch.nn / torch.nn.functional names: shrink/threshold activations, glu, celu, normalize, cosine similarity,
padding and dropout modules, against torch on the CPU executor."""
import pytest
import torch

import trtnn.nn as nn
from harness import Random, check
from ops_harness import check_module

r = Random(8)


X = r(2, 6, 5, 4) * 2

FUNCTIONAL = {
    "softmin": (lambda F, x: F.softmin(x, 1), [X]),
    "softsign": (lambda F, x: F.softsign(x), [X]),
    "tanhshrink": (lambda F, x: F.tanhshrink(x), [X]),
    "hardshrink": (lambda F, x: F.hardshrink(x, 1.0), [X]),
    "softshrink": (lambda F, x: F.softshrink(x), [X]),
    "threshold": (lambda F, x: F.threshold(x, 0.5, -2.0), [X]),
    "glu": (lambda F, x: F.glu(x, 1), [X]),
    "celu": (lambda F, x: F.celu(x, 0.7), [X]),
    "normalize": (lambda F, x: F.normalize(x), [X]),
    "normalize_p1_last": (lambda F, x: F.normalize(x, 1, -1), [X]),
    "normalize_p3": (lambda F, x: F.normalize(x, 3.0, 2), [X]),
    "cosine_similarity": (lambda F, a, b: F.cosine_similarity(a, b), [X, r(2, 6, 5, 4)]),
    "upsample_nearest": (lambda F, x: F.upsample_nearest(x, scale_factor=2), [X]),
    "upsample_bilinear": (lambda F, x: F.upsample_bilinear(x, size=(7, 9)), [X]),
    "dropout2d": (lambda F, x: F.dropout2d(x, 0.3, training=False), [X]),
    "local_response_norm": (lambda F, x: F.local_response_norm(x, 3, 0.01, 0.5, 2.0), [X]),
    "adaptive_avg_pool3d": (lambda F, x: F.adaptive_avg_pool3d(x, (2, 1, None)), [r(1, 2, 4, 3, 5)]),
    "adaptive_max_pool3d": (lambda F, x: F.adaptive_max_pool3d(x, 1), [r(1, 2, 4, 3, 5)]),
}


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional(name, dtype):
    fn, inputs = FUNCTIONAL[name]
    ref_fn = None
    if dtype == "fp16":
        inputs = [x.half() for x in inputs]
        ref_fn = lambda F, *xs: fn(F, *[x.float() for x in xs]).half()  # noqa: E731
    check(fn, inputs, dtype=dtype, ref_fn=ref_fn, build=False)


S = (2, 6, 5, 4)
MODULES = {  # name: (constructor, input shapes)
    "Softmin": (lambda m: m.Softmin(1), [S]),
    "Softsign": (lambda m: m.Softsign(), [S]),
    "Tanhshrink": (lambda m: m.Tanhshrink(), [S]),
    "Softmax2d": (lambda m: m.Softmax2d(), [S]),
    "Hardshrink": (lambda m: m.Hardshrink(0.8), [S]),
    "Softshrink": (lambda m: m.Softshrink(), [S]),
    "Threshold": (lambda m: m.Threshold(0.1, 20.0), [S]),
    "GLU": (lambda m: m.GLU(1), [S]),
    "CELU": (lambda m: m.CELU(2.0), [S]),
    "Dropout2d": (lambda m: m.Dropout2d(0.5), [S]),
    "AlphaDropout": (lambda m: m.AlphaDropout(0.5), [S]),
    "CosineSimilarity": (lambda m: m.CosineSimilarity(dim=2), [S, S]),
    "ZeroPad1d": (lambda m: m.ZeroPad1d((1, 2)), [S]),
    "ZeroPad2d": (lambda m: m.ZeroPad2d(1), [S]),
    "ConstantPad2d": (lambda m: m.ConstantPad2d((1, 0, 2, 1), 3.5), [S]),
    "ConstantPad3d": (lambda m: m.ConstantPad3d(1, -1.0), [S]),
    "ReflectionPad2d": (lambda m: m.ReflectionPad2d((2, 1, 0, 3)), [S]),
    "ReplicationPad1d": (lambda m: m.ReplicationPad1d(3), [(2, 6, 5)]),
    "ReplicationPad3d": (lambda m: m.ReplicationPad3d((1, 1, 0, 2, 1, 0)), [S]),
    "CircularPad2d": (lambda m: m.CircularPad2d(2), [S]),
    "LocalResponseNorm": (lambda m: m.LocalResponseNorm(5), [S]),
    "AdaptiveAvgPool3d": (lambda m: m.AdaptiveAvgPool3d((2, 3, 1)), [(1, 2, 4, 3, 5)]),
    "AdaptiveMaxPool3d": (lambda m: m.AdaptiveMaxPool3d(1), [(1, 2, 4, 3, 5)]),
}


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_module(name, dtype):
    make, shapes = MODULES[name]
    xs = [r(*shape) * 2 for shape in shapes]
    check_module(make(torch.nn), make(nn), [x.half() if dtype == "fp16" else x for x in xs], dtype)
