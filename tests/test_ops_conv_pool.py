"""1-D and 3-D convolutions and pooling (functional and modules) against torch on the CPU executor."""
import pytest
import torch

import trtnn.nn as nn
from harness import Random, check
from ops_harness import check_module

r = Random(4)


X1, X3 = r(2, 4, 13), r(1, 4, 5, 7, 6)
W1, B = r(6, 4, 3), r(6)
W3 = r(6, 2, 3, 3, 3)
WT1, WT3 = r(4, 3, 3), r(4, 3, 2, 3, 3)
WG1, B3 = r(6, 2, 5), r(3)

FUNCTIONAL = {
    "conv1d": (lambda F, x: F.conv1d(x, W1, B, stride=2, padding=1), [X1]),
    "conv1d_same_dilation": (lambda F, x: F.conv1d(x, W1, None, padding="same", dilation=2), [X1]),
    "conv1d_groups": (lambda F, x: F.conv1d(x, WG1, B, groups=2), [X1]),
    "conv3d": (lambda F, x: F.conv3d(x, W3, B, stride=(1, 2, 1), padding=1, groups=2), [X3]),
    "conv3d_valid_dilation": (lambda F, x: F.conv3d(x, W3, None, padding="valid", dilation=(1, 2, 2), groups=2), [X3]),
    "conv_transpose1d": (lambda F, x: F.conv_transpose1d(x, WT1, B3, stride=2, padding=1, output_padding=1), [X1]),
    "conv_transpose1d_dilation": (lambda F, x: F.conv_transpose1d(x, WT1, None, stride=2, dilation=2), [X1]),
    "conv_transpose3d": (lambda F, x: F.conv_transpose3d(x, WT3, B3, stride=2, padding=(0, 1, 1)), [X3]),
    "conv_transpose3d_outpad": (lambda F, x: F.conv_transpose3d(x, WT3, B3, stride=3, output_padding=2), [X3]),
    "max_pool1d": (lambda F, x: F.max_pool1d(x, 3, 2, 1), [X1]),
    "max_pool1d_ceil": (lambda F, x: F.max_pool1d(x, 2, ceil_mode=True), [X1]),
    "avg_pool1d": (lambda F, x: F.avg_pool1d(x, 3, 2, 1), [X1]),
    "avg_pool1d_exclude_pad_ceil": (lambda F, x: F.avg_pool1d(x, 4, 3, 1, True, False), [X1]),
    "max_pool3d": (lambda F, x: F.max_pool3d(x, 2), [X3]),
    "max_pool3d_pad": (lambda F, x: F.max_pool3d(x, 3, (1, 2, 2), 1), [X3]),
    "avg_pool3d": (lambda F, x: F.avg_pool3d(x, 3, 2, 1), [X3]),
    "avg_pool3d_ceil": (lambda F, x: F.avg_pool3d(x, 2, ceil_mode=True), [X3]),
    "avg_pool3d_divisor": (lambda F, x: F.avg_pool3d(x, 2, divisor_override=3), [X3]),
    "adaptive_avg_pool1d": (lambda F, x: F.adaptive_avg_pool1d(x, 5), [X1]),
    "adaptive_avg_pool1d_1": (lambda F, x: F.adaptive_avg_pool1d(x, 1), [X1]),
    "adaptive_max_pool1d": (lambda F, x: F.adaptive_max_pool1d(x, 4), [X1]),
}


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional(name, dtype):
    fn, inputs = FUNCTIONAL[name]
    ref_fn = None
    if dtype == "fp16":  # torch computes in fp32 with the fp32 weights; trtnn runs an fp16 network
        inputs = [x.half() for x in inputs]
        ref_fn = lambda F, x: fn(F, x.float()).half()  # noqa: E731
    check(fn, inputs, dtype=dtype, ref_fn=ref_fn,
          build=dtype == "fp32" and name in ("conv1d", "conv3d", "conv_transpose3d", "max_pool3d", "avg_pool1d"))


MODULES = {
    "Conv1d": (lambda m: m.Conv1d(4, 6, 3, padding=1), (2, 4, 13)),
    "Conv1d_reflect": (lambda m: m.Conv1d(4, 6, 5, padding=2, padding_mode="reflect", bias=False), (2, 4, 13)),
    "Conv3d": (lambda m: m.Conv3d(4, 6, (3, 1, 3), stride=2, padding=(1, 0, 1)), (1, 4, 5, 7, 6)),
    "Conv3d_replicate": (lambda m: m.Conv3d(4, 2, 3, padding=1, padding_mode="replicate"), (1, 4, 5, 7, 6)),
    "ConvTranspose1d": (lambda m: m.ConvTranspose1d(4, 6, 4, stride=2, padding=1), (2, 4, 13)),
    "ConvTranspose3d": (lambda m: m.ConvTranspose3d(4, 2, 2, stride=2), (1, 4, 5, 7, 6)),
    "MaxPool1d": (lambda m: m.MaxPool1d(3, 2), (2, 4, 13)),
    "AvgPool1d": (lambda m: m.AvgPool1d(3, padding=1, count_include_pad=False), (2, 4, 13)),
    "MaxPool3d": (lambda m: m.MaxPool3d(2, ceil_mode=True), (1, 4, 5, 7, 6)),
    "AvgPool3d": (lambda m: m.AvgPool3d((1, 2, 2)), (1, 4, 5, 7, 6)),
    "AdaptiveAvgPool1d": (lambda m: m.AdaptiveAvgPool1d(6), (2, 4, 13)),
    "AdaptiveMaxPool1d": (lambda m: m.AdaptiveMaxPool1d(3), (2, 4, 13)),
}


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_module(name, dtype):
    make, shape = MODULES[name]
    x = r(*shape)
    check_module(make(torch.nn), make(nn), [x.half() if dtype == "fp16" else x], dtype)
    if dtype == "fp32":
        assert list(make(nn).state_dict()) == list(make(torch.nn).state_dict())
