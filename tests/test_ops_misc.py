"""Activations, rearrangements, embedding and resize modes against torch on the CPU executor (fp32 and fp16)."""
import pytest
import torch

import trtnn.nn as nn
from harness import Random, check
from ops_harness import check_module

r = Random(6)
g = r.generator


X = r(2, 8, 6, 5) * 4
X3 = r(1, 2, 4, 5, 6)
IDX = torch.randint(0, 10, (2, 7), generator=g)
EMB, SLOPES = r(10, 4), r(8).abs() * 0.3

FUNCTIONAL = {
    "gelu_tanh": (lambda F, x: F.gelu(x, approximate="tanh"), [X]),
    "softplus": (lambda F, x: F.softplus(x), [X]),
    "softplus_beta_threshold": (lambda F, x: F.softplus(x, beta=2.0, threshold=3.0), [X]),
    "hardtanh": (lambda F, x: F.hardtanh(x, -2.0, 3.0), [X]),
    "logsigmoid": (lambda F, x: F.logsigmoid(x), [X]),
    "prelu_channels": (lambda F, x: F.prelu(x, SLOPES), [X]),
    "prelu_one": (lambda F, x: F.prelu(x, torch.tensor([0.1])), [X]),
    "pixel_shuffle": (lambda F, x: F.pixel_shuffle(x, 2), [X]),
    "pixel_unshuffle": (lambda F, x: F.pixel_unshuffle(x, (2)), [r(2, 3, 6, 4)]),
    "pixel_shuffle_5d": (lambda F, x: F.pixel_shuffle(x, 2), [r(2, 3, 8, 2, 3)]),
    "channel_shuffle": (lambda F, x: F.channel_shuffle(x, 4), [X]),
    "unflatten": (lambda F, x: F.unflatten(x, 1, (2, -1)), [X]),
    "embedding": (lambda F, i: F.embedding(i, EMB), [IDX]),
    "interpolate_bicubic": (lambda F, x: F.interpolate(x, size=(11, 9), mode="bicubic"), [X]),
    "interpolate_bicubic_scale_ac": (
        lambda F, x: F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=True), [X]),
    "interpolate_trilinear": (lambda F, x: F.interpolate(x, scale_factor=(2, 1.5, 2), mode="trilinear"), [X3]),
    "interpolate_trilinear_ac": (
        lambda F, x: F.interpolate(x, size=(3, 7, 4), mode="trilinear", align_corners=True), [X3]),
    "interpolate_nearest_exact_3d": (lambda F, x: F.interpolate(x, size=(7, 3, 9), mode="nearest-exact"), [X3]),
    "interpolate_area_down": (lambda F, x: F.interpolate(x, size=(4, 3), mode="area"), [X]),
    "interpolate_area_scale": (lambda F, x: F.interpolate(x, scale_factor=0.5, mode="area"), [X]),
    "interpolate_area_1d": (lambda F, x: F.interpolate(x, size=4, mode="area"), [r(2, 3, 9)]),
    "interpolate_linear_1d": (lambda F, x: F.interpolate(x, size=13, mode="linear"), [r(2, 3, 9)]),
}


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional(name, dtype):
    fn, inputs = FUNCTIONAL[name]
    ref_fn = None
    if dtype == "fp16":  # torch computes in fp32 (constants are fp32); trtnn runs an fp16 network
        inputs = [x.half() if x.is_floating_point() else x for x in inputs]
        ref_fn = lambda F, *xs: fn(F, *[x.float() if x.is_floating_point() else x for x in xs]).half()  # noqa: E731
    check(fn, inputs, dtype=dtype, ref_fn=ref_fn, build=dtype == "fp32" and name in (
        "interpolate_bicubic", "embedding", "pixel_shuffle", "prelu_channels", "softplus_beta_threshold"))


MODULES = {
    "Hardtanh": (lambda m: m.Hardtanh(-0.5, 2.0), (2, 8, 6, 5)),
    "Softplus": (lambda m: m.Softplus(beta=0.5, threshold=1.0), (2, 8, 6, 5)),
    "LogSigmoid": (lambda m: m.LogSigmoid(), (2, 8, 6, 5)),
    "GELU_tanh": (lambda m: m.GELU(approximate="tanh"), (2, 8, 6, 5)),
    "PReLU": (lambda m: m.PReLU(), (2, 8, 6, 5)),
    "PReLU_channels": (lambda m: m.PReLU(8, init=0.1), (2, 8, 6, 5)),
    "PixelShuffle": (lambda m: m.PixelShuffle(2), (2, 8, 6, 5)),
    "PixelUnshuffle": (lambda m: m.PixelUnshuffle(3), (1, 2, 6, 9)),
    "ChannelShuffle": (lambda m: m.ChannelShuffle(2), (2, 8, 6, 5)),
    "Unflatten": (lambda m: m.Unflatten(-1, (5, 1)), (2, 8, 6, 5)),
    "Upsample_bicubic": (lambda m: m.Upsample(scale_factor=2, mode="bicubic"), (2, 8, 6, 5)),
    "Upsample_bilinear_ac": (lambda m: m.Upsample(size=(9, 7), mode="bilinear", align_corners=True), (2, 8, 6, 5)),
    "Upsample_trilinear": (lambda m: m.Upsample(scale_factor=2, mode="trilinear"), (1, 2, 4, 5, 6)),
    "Upsample_nearest_exact": (lambda m: m.Upsample(scale_factor=1.5, mode="nearest-exact"), (2, 8, 6, 5)),
    "UpsamplingNearest2d": (lambda m: m.UpsamplingNearest2d(scale_factor=2), (2, 8, 6, 5)),
    "UpsamplingBilinear2d": (lambda m: m.UpsamplingBilinear2d(size=(11, 4)), (2, 8, 6, 5)),
}


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_module(name, dtype):
    make, shape = MODULES[name]
    x = r(*shape) * 3
    check_module(make(torch.nn), make(nn), [x.half() if dtype == "fp16" else x], dtype)
    if dtype == "fp32":
        assert list(make(nn).state_dict()) == list(make(torch.nn).state_dict())


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_embedding_module(dtype):
    ref, mine = torch.nn.Embedding(10, 4, padding_idx=0), nn.Embedding(10, 4, padding_idx=0)
    assert list(mine.state_dict()) == ["weight"]
    net = check_module(ref, mine, [IDX], dtype)
    assert net.outputs[0].dtype == (torch.float32 if dtype == "fp32" else torch.float16)
