"""Normalization ops and layers against torch on the CPU executor (fp32 and fp16)."""
import pytest
import torch

import trtnn.nn as nn
from harness import Random, check
from ops_harness import check_module

r = Random(1)


X, W7, B7, W6, B6 = r(2, 6, 5, 7) * 3 + 1, r(7), r(7), r(6), r(6)
W57 = r(5, 7)

FUNCTIONAL = {
    "layer_norm_last": (lambda F, x: F.layer_norm(x, (7,), W7, B7, 1e-3), [X]),
    "layer_norm_two_dims": (lambda F, x: F.layer_norm(x, (5, 7), W57), [X]),
    "layer_norm_no_affine": (lambda F, x: F.layer_norm(x, [7]), [X]),
    "layer_norm_channels_last": (lambda F, x: F.layer_norm(x.permute(0, 2, 3, 1), (6,), W6, B6).permute(0, 3, 1, 2),
                                 [X]),
    "group_norm": (lambda F, x: F.group_norm(x, 3, W6, B6), [X]),
    "group_norm_one_group": (lambda F, x: F.group_norm(x, 1, eps=1e-2), [X]),
    "group_norm_1d": (lambda F, x: F.group_norm(x, 2, W6, B6), [r(3, 6, 10)]),
    "instance_norm": (lambda F, x: F.instance_norm(x, weight=W6, bias=B6), [X]),
    "instance_norm_running": (
        lambda F, x: F.instance_norm(x, W6, W6.abs() + 0.5, B6, W6, use_input_stats=False), [X]),
    "rms_norm": (lambda F, x: F.rms_norm(x, (7,), W7), [X]),
    "rms_norm_eps_two_dims": (lambda F, x: F.rms_norm(x, (5, 7), eps=1e-2), [X]),
}


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional(name, dtype):
    fn, inputs = FUNCTIONAL[name]
    check(fn, [x.half() if dtype == "fp16" else x for x in inputs], dtype=dtype, build=dtype == "fp32" and
          name in ("layer_norm_last", "group_norm", "rms_norm"))


MODULES = {
    "LayerNorm": (lambda m: m.LayerNorm(7), (2, 6, 5, 7)),
    "LayerNorm_2d_no_bias": (lambda m: m.LayerNorm((5, 7), eps=1e-4, bias=False), (2, 6, 5, 7)),
    "LayerNorm_no_affine": (lambda m: m.LayerNorm([7], elementwise_affine=False), (2, 6, 5, 7)),
    "GroupNorm": (lambda m: m.GroupNorm(2, 6), (2, 6, 5, 7)),
    "GroupNorm_no_affine": (lambda m: m.GroupNorm(3, 6, affine=False), (2, 6, 4, 3, 2)),
    "InstanceNorm1d": (lambda m: m.InstanceNorm1d(6), (2, 6, 9)),
    "InstanceNorm1d_unbatched_affine": (lambda m: m.InstanceNorm1d(6, affine=True), (6, 9)),
    "InstanceNorm2d_affine": (lambda m: m.InstanceNorm2d(6, affine=True), (2, 6, 5, 7)),
    "InstanceNorm2d_running": (lambda m: m.InstanceNorm2d(6, affine=True, track_running_stats=True), (2, 6, 5, 7)),
    "InstanceNorm3d": (lambda m: m.InstanceNorm3d(6), (1, 6, 3, 4, 5)),
    "RMSNorm": (lambda m: m.RMSNorm(7), (2, 6, 5, 7)),
    "RMSNorm_eps": (lambda m: m.RMSNorm([5, 7], eps=1e-3), (2, 6, 5, 7)),
    "BatchNorm1d_3d_input": (lambda m: m.BatchNorm1d(6), (2, 6, 9)),
    "BatchNorm1d_2d_input": (lambda m: m.BatchNorm1d(6), (4, 6)),
    "BatchNorm3d": (lambda m: m.BatchNorm3d(6), (2, 6, 3, 4, 5)),
}


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_module(name, dtype):
    make, shape = MODULES[name]
    x = r(*shape) * 2 + 0.5
    check_module(make(torch.nn), make(nn), [x.half() if dtype == "fp16" else x], dtype)
    if dtype == "fp32":
        assert list(make(nn).state_dict()) == list(make(torch.nn).state_dict())
