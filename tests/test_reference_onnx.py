"""The CPU executor against NVIDIA's own mapping: torch op -> ONNX -> trt.OnnxParser -> Executor == torch."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from onnx_util import torch_to_trt
from trtnn.reference import Executor
from trtnn.reference.common import torch_dtype

SEEN_KINDS: set = set()


class Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def _rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    out, ref = out.double(), ref.double()
    return float((out - ref).abs().max() / ref.abs().max().clamp(min=1e-30)) if ref.numel() else 0.0


def check(model: nn.Module, *args: torch.Tensor, tol: float = 1e-5, kinds=()):
    """Parse `model`, run it in the executor and compare with torch eager (exact for non-float outputs)."""
    torch.manual_seed(0)
    model = model.eval()
    with torch.no_grad():
        ref = model(*args)
    refs = list(ref) if isinstance(ref, (tuple, list)) else [ref]
    parsed = torch_to_trt(model, args)
    net = parsed.network
    ex = Executor(net)
    got = ex(list(args), keep_all=True)
    # every tensor has the dtype and the static dims the network declares
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        SEEN_KINDS.add(layer.type.name)
        for j in range(layer.num_outputs):
            t = layer.get_output(j)
            if t.name in got:
                assert got[t.name].dtype == torch_dtype(t.dtype), (layer.name, t.name)
                shape = tuple(t.shape)
                assert len(shape) == got[t.name].dim() and all(
                    d < 0 or d == g for d, g in zip(shape, got[t.name].shape)), (layer.name, shape, got[t.name].shape)
    outs = [got[net.get_output(i).name] for i in range(net.num_outputs)]
    assert len(outs) == len(refs)
    for out, r in zip(outs, refs):
        assert tuple(out.shape) == tuple(r.shape)
        if r.is_floating_point():
            assert out.dtype == r.dtype
            err = _rel_err(out, r)
            assert err <= tol, f"relative error {err:.3g} > {tol}"
        else:
            assert torch.equal(out.to(r.dtype), r)
    kinds_seen = set(parsed.layer_kinds())
    for k in kinds:
        assert k in kinds_seen, f"expected the parser to emit {k}, got {sorted(kinds_seen)}"
    return parsed


def rnd(*shape, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g).to(dtype)


CONV_CASES = {
    "conv_plain": (nn.Conv2d(4, 8, 3), (1, 4, 9, 9)),
    "conv_stride_pad_bias": (nn.Conv2d(4, 8, 3, stride=2, padding=1), (2, 4, 10, 11)),
    "conv_dilation_nobias": (nn.Conv2d(4, 6, 3, padding=2, dilation=2, bias=False), (1, 4, 12, 12)),
    "conv_groups": (nn.Conv2d(4, 8, 3, padding=1, groups=2), (1, 4, 8, 8)),
    "conv_depthwise_asym_kernel": (nn.Conv2d(6, 6, (3, 5), padding=(1, 2), groups=6), (1, 6, 7, 9)),
    "conv_same": (nn.Conv2d(3, 4, 4, padding="same"), (1, 3, 9, 9)),
    "conv1d": (nn.Conv1d(3, 5, 3, stride=2, padding=1), (2, 3, 16)),
    "deconv_plain": (nn.ConvTranspose2d(4, 6, 3), (1, 4, 5, 5)),
    "deconv_stride_pad": (nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1), (1, 4, 5, 6)),
    "deconv_output_padding": (nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1), (1, 4, 5, 5)),
    "deconv_groups": (nn.ConvTranspose2d(4, 8, 4, stride=2, padding=1, groups=2), (1, 4, 6, 6)),
}


@pytest.mark.parametrize("name", list(CONV_CASES))
def test_conv(name):
    model, shape = CONV_CASES[name]
    kind = "DECONVOLUTION" if name.startswith("deconv") else "CONVOLUTION"
    check(model, rnd(*shape), kinds=[kind])


def _bn():
    bn = nn.BatchNorm2d(5)
    with torch.no_grad():
        bn.running_mean.copy_(torch.linspace(-1, 1, 5))
        bn.running_var.copy_(torch.linspace(0.5, 2, 5))
        bn.weight.copy_(torch.linspace(0.5, 1.5, 5))
        bn.bias.copy_(torch.linspace(-0.2, 0.3, 5))
    return bn


def test_batchnorm_standalone():
    check(_bn(), rnd(2, 5, 4, 4))


def test_conv_bn_relu():
    check(nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), _bn(), nn.ReLU()), rnd(1, 3, 8, 8))


def test_linear_and_matmul():
    check(nn.Linear(16, 8), rnd(3, 16), kinds=["MATRIX_MULTIPLY"])
    check(nn.Linear(16, 8, bias=False), rnd(2, 5, 16))
    check(Fn(lambda a, b: a @ b), rnd(2, 3, 4, 5), rnd(2, 3, 5, 6, seed=1))
    check(Fn(lambda a, b: a @ b.transpose(-1, -2)), rnd(3, 4, 5), rnd(3, 6, 5, seed=1))
    check(Fn(lambda a, b: torch.matmul(a, b)), rnd(7), rnd(7, 3, seed=1))


ACTIVATIONS = {
    "relu": nn.ReLU(), "relu6": nn.ReLU6(), "clip": Fn(lambda x: torch.clamp(x, -0.5, 0.7)),
    "leaky_relu": nn.LeakyReLU(0.07), "elu": nn.ELU(0.8), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(),
    "silu": nn.SiLU(), "hardswish": nn.Hardswish(), "hardsigmoid": nn.Hardsigmoid(), "mish": nn.Mish(),
    "gelu": nn.GELU(), "gelu_tanh": nn.GELU(approximate="tanh"), "selu": nn.SELU(), "softplus": nn.Softplus(),
    "softsign": nn.Softsign(), "prelu": nn.PReLU(4, 0.2),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation(name):
    check(ACTIVATIONS[name], rnd(2, 4, 5, 5) * 3)


@pytest.mark.parametrize("dim", [1, -1])
def test_softmax(dim):
    check(nn.Softmax(dim), rnd(2, 5, 7) * 4, kinds=["SOFTMAX"])
    check(nn.LogSoftmax(dim), rnd(2, 5, 7) * 4)


POOLS = {
    "max": nn.MaxPool2d(3, 2),
    "max_pad": nn.MaxPool2d(3, 2, padding=1),
    "max_ceil": nn.MaxPool2d(3, 2, ceil_mode=True),
    "max_ceil_pad": nn.MaxPool2d(2, 2, padding=1, ceil_mode=True),
    "avg": nn.AvgPool2d(2),
    "avg_pad_include": nn.AvgPool2d(3, 2, padding=1, count_include_pad=True),
    "avg_pad_exclude": nn.AvgPool2d(3, 2, padding=1, count_include_pad=False),
    "avg_ceil_exclude": nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False),
    "avg_ceil_include": nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=True),
    "adaptive_avg_1": nn.AdaptiveAvgPool2d(1),
    "adaptive_avg_2": nn.AdaptiveAvgPool2d((2, 3)),
    "adaptive_max_1": nn.AdaptiveMaxPool2d(1),
    "adaptive_max_2": nn.AdaptiveMaxPool2d(2),
}


@pytest.mark.parametrize("name", list(POOLS))
def test_pooling(name):
    check(POOLS[name], rnd(1, 3, 10, 12))


def test_ceil_mode_window_in_padding_follows_tensorrt():
    """torch drops a last ceil-mode window that starts in the padding; TensorRT's EXPLICIT_ROUND_UP keeps it."""
    model = nn.MaxPool2d(2, 2, padding=1, ceil_mode=True)
    x = rnd(1, 1, 5, 5)
    net = torch_to_trt(model, [x]).network
    out = list(Executor(net)([x]).values())[0]
    assert tuple(net.get_output(0).shape) == (1, 1, 4, 4) == tuple(out.shape)
    assert torch.equal(out[..., :3, :3], model(x))


INTERP = {
    "nearest_size": dict(size=(7, 10), mode="nearest"),
    "nearest_scale2": dict(scale_factor=2, mode="nearest"),
    "nearest_down": dict(size=(3, 4), mode="nearest"),
    "bilinear_size": dict(size=(7, 11), mode="bilinear", align_corners=False),
    "bilinear_scale": dict(scale_factor=2, mode="bilinear", align_corners=False),
    "bilinear_scale_frac": dict(scale_factor=1.5, mode="bilinear", align_corners=False),
    "bilinear_align_size": dict(size=(9, 4), mode="bilinear", align_corners=True),
    "bilinear_align_scale": dict(scale_factor=2, mode="bilinear", align_corners=True),
    "bicubic": dict(size=(8, 9), mode="bicubic", align_corners=False),
}


@pytest.mark.parametrize("name", list(INTERP))
def test_interpolate(name):
    kw = INTERP[name]
    tol = 1e-5 if kw["mode"] != "bicubic" else 1e-4
    check(Fn(lambda x: F.interpolate(x, **kw)), rnd(1, 2, 5, 6), tol=tol, kinds=["RESIZE"])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate"])
def test_pad(mode):
    kw = {"value": 1.5} if mode == "constant" else {}
    check(Fn(lambda x: F.pad(x, (1, 2, 2, 1), mode=mode, **kw)), rnd(1, 2, 5, 6))


def test_cat_stack_split_chunk():
    check(Fn(lambda a, b: torch.cat([a, b, a], 1)), rnd(2, 3, 4), rnd(2, 2, 4, seed=1), kinds=["CONCATENATION"])
    check(Fn(lambda a, b: torch.stack([a, b], 2)), rnd(2, 3, 4), rnd(2, 3, 4, seed=1))
    check(Fn(lambda x: torch.split(x, [2, 3, 1], 1)), rnd(2, 6, 3), kinds=["SLICE"])
    check(Fn(lambda x: torch.chunk(x, 3, -1)), rnd(2, 3, 9))


def test_slicing():
    check(Fn(lambda x: x[:, 1:, ::2, -3:]), rnd(2, 3, 8, 6))
    check(Fn(lambda x: x[..., 1:-1:3, 2]), rnd(2, 10, 5))
    check(Fn(lambda x: x.flip(1)), rnd(2, 5, 3))
    check(Fn(lambda x: x[:, -1]), rnd(3, 4, 2))


def test_gather():
    idx = torch.tensor([3, 0, 2, 2])
    check(Fn(lambda x: x.index_select(1, idx)), rnd(2, 5, 3), kinds=["GATHER"])
    check(Fn(lambda x, i: x[i]), rnd(6, 3), torch.tensor([[5, 0], [-1, 2]]))
    check(Fn(lambda x, i: torch.gather(x, 1, i)), rnd(3, 4), torch.tensor([[0, 3], [1, 1], [3, 2]]))
    check(Fn(lambda x: x[:, [2, 0]]), rnd(2, 3, 4))


def test_unary_math():
    x = rnd(3, 4, 5)
    check(Fn(lambda x: torch.exp(x) + torch.log(x.abs() + 1) + torch.sqrt(x.abs())), x)
    check(Fn(lambda x: torch.pow(x.abs(), 2.5) + x ** 2 + torch.clamp(x, min=-0.3)), x)
    check(Fn(lambda x: torch.sin(x) * torch.cos(x) + torch.floor(x * 3) + torch.ceil(x) - torch.erf(x)), x)
    check(Fn(lambda x: torch.reciprocal(x.abs() + 0.5) + torch.neg(x) + torch.sign(x) + torch.round(x * 4)), x)


def test_where_and_comparisons():
    check(Fn(lambda a, b: torch.where(a > b, a, b * 2)), rnd(2, 3, 4), rnd(2, 1, 4, seed=1), kinds=["SELECT"])
    check(Fn(lambda a, b: ((a < b) | (a == b)) & ~(a > 1)), rnd(4, 5), rnd(4, 5, seed=1))


def test_integer_ops():
    a = torch.tensor([[7, -7, 9], [-9, 5, 0]], dtype=torch.int32)
    b = torch.tensor([[2, 2, -4], [4, -3, 3]], dtype=torch.int32)
    check(Fn(lambda a, b: torch.div(a, b, rounding_mode="floor")), a, b)
    check(Fn(lambda a, b: torch.div(a, b, rounding_mode="trunc")), a, b)
    check(Fn(lambda a, b: a * b + a - b), a.long(), b.long())
    check(Fn(lambda x: x.to(torch.int32)), rnd(3, 4) * 10)


def test_topk_argmax():
    x = rnd(3, 7, 5)
    check(Fn(lambda x: torch.topk(x, 3, dim=1)), x, kinds=["TOPK"])
    check(Fn(lambda x: torch.topk(x, 2, dim=-1, largest=False)), x)
    check(Fn(lambda x: torch.argmax(x, 1)), x)
    check(Fn(lambda x: torch.argmin(x, -1, keepdim=True)), x)


def test_reductions():
    x = rnd(2, 3, 4, 5)
    check(Fn(lambda x: x.sum((1, 3))), x, kinds=["REDUCE"])
    check(Fn(lambda x: x.mean(-1, keepdim=True)), x)
    check(Fn(lambda x: x.amax(2)), x)
    check(Fn(lambda x: x.amin((0, 2), keepdim=True)), x)
    check(Fn(lambda x: (x * 0.5 + 1).prod(1)), x)


def test_reshape_family():
    x = rnd(2, 3, 4, 5)
    check(Fn(lambda x: x.reshape(6, -1)), x, kinds=["SHUFFLE"])
    check(Fn(lambda x: x.permute(0, 2, 3, 1)), x)
    check(Fn(lambda x: x.transpose(1, 3).flatten(1)), x)
    check(Fn(lambda x: x[:, :1].squeeze(1).unsqueeze(-1)), x)
    check(Fn(lambda x: x.view(x.shape[0], -1)), x)


def test_layer_and_group_norm():
    check(nn.LayerNorm(8), rnd(2, 3, 8))
    check(nn.GroupNorm(2, 6), rnd(2, 6, 3, 3))
    check(nn.InstanceNorm2d(3, affine=True), rnd(2, 3, 4, 4))


def test_dynamic_batch_shape_ops():
    parsed = torch_to_trt(Fn(lambda x: x.reshape(x.shape[0], -1) * 2), [rnd(2, 3, 4)], dynamic_axes={"in0": {0: "b"}})
    ex = Executor(parsed.network)
    assert ex.input_specs == [("in0", (-1, 3, 4), torch.float32)]
    x = rnd(5, 3, 4)
    out = list(ex([x]).values())[0]
    assert torch.equal(out, x.reshape(5, -1) * 2)


MORE_OPS = {
    "cumsum": (lambda: Fn(lambda x: torch.cumsum(x, 1)), lambda: [rnd(2, 5)], "CUMULATIVE"),
    "einsum": (lambda: Fn(lambda a, b: torch.einsum("bij,bkj->bik", a, b)), lambda: [rnd(2, 3, 4), rnd(2, 5, 4)],
               "EINSUM"),
    "one_hot": (lambda: Fn(lambda i: F.one_hot(i, 5)), lambda: [torch.tensor([0, 3, 4, 1])], "ONE_HOT"),
    "conv3d": (lambda: nn.Conv3d(2, 3, 3, stride=(1, 2, 1), padding=1), lambda: [rnd(1, 2, 4, 5, 4)], "CONVOLUTION"),
    "avgpool3d": (lambda: nn.AvgPool3d(2, padding=1, count_include_pad=False), lambda: [rnd(1, 2, 4, 4, 5)],
                  "POOLING"),
    "scatter": (lambda: Fn(lambda x, u: x.scatter(1, torch.tensor([[0, 2], [1, 0]]), u)),
                lambda: [rnd(2, 3), rnd(2, 2, seed=1)], "SCATTER"),
    "expand_arange": (lambda: Fn(lambda x: x.expand(3, 4, 5) + torch.arange(5)), lambda: [rnd(1, 4, 5)], "SELECT"),
    "lrn_with_conditional": (lambda: nn.LocalResponseNorm(3), lambda: [rnd(1, 5, 4, 4)], "CONDITION"),
    "grid_sample": (lambda: Fn(lambda x, g: F.grid_sample(x, g, align_corners=False)),
                    lambda: [rnd(1, 2, 4, 4), rnd(1, 3, 3, 2, seed=1).clamp(-1.2, 1.2)], "GRID_SAMPLE"),
    "grid_sample_nearest_border_ac": (
        lambda: Fn(lambda x, g: F.grid_sample(x, g, "nearest", "border", align_corners=True)),
        lambda: [rnd(1, 2, 4, 5), rnd(1, 3, 3, 2, seed=1).clamp(-1.2, 1.2)], "GRID_SAMPLE"),
    "grid_sample_bilinear_reflection": (
        lambda: Fn(lambda x, g: F.grid_sample(x, g, "bilinear", "reflection", align_corners=False)),
        lambda: [rnd(2, 2, 4, 5), rnd(2, 3, 3, 2, seed=1) * 1.5], "GRID_SAMPLE"),
    "topk_last": (lambda: Fn(lambda x: torch.topk(x, 2)), lambda: [rnd(2, 6)], "TOPK"),
}


@pytest.mark.parametrize("name", list(MORE_OPS))
def test_more_ops(name):
    model, args, kind = MORE_OPS[name]
    check(model(), *args(), kinds=[kind])


def test_fake_quant_qdq():
    x = torch.tensor([[0.25, 0.75, 1.25, -0.25, -0.75, 100.0, -100.0, 1.0]] * 2)
    parsed = check(Fn(lambda x: torch.fake_quantize_per_tensor_affine(x, 0.5, 0, -128, 127)), x,
                   kinds=["QUANTIZE", "DEQUANTIZE"])
    out = list(Executor(parsed.network)([x]).values())[0]
    assert out[0].tolist() == [0.0, 1.0, 1.0, 0.0, -1.0, 63.5, -64.0, 1.0]  # half to even, clamp [-128, 127]
    scales = torch.tensor([0.5, 0.25])
    check(Fn(lambda x: torch.fake_quantize_per_channel_affine(x, scales, torch.zeros(2, dtype=torch.int32), 0,
                                                              -128, 127)), x, kinds=["QUANTIZE"])


FP16_CASES = {
    "conv_bn_relu": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), _bn_n(8), nn.ReLU()), (1, 3, 8, 8)),
    "deconv": (lambda: nn.ConvTranspose2d(4, 4, 2, stride=2), (1, 4, 4, 4)),
    "linear_gelu": (lambda: nn.Sequential(nn.Linear(16, 16), nn.GELU()), (2, 16)),
    "pool_interp": (lambda: Fn(lambda x: F.interpolate(F.max_pool2d(x, 2), scale_factor=2, mode="bilinear")),
                    (1, 2, 8, 8)),
    "avgpool_softmax": (lambda: Fn(lambda x: torch.softmax(F.avg_pool2d(x, 3, 1, 1), 1)), (1, 4, 6, 6)),
    "activations": (lambda: Fn(lambda x: F.silu(x) + F.hardswish(x) + torch.sigmoid(x) + F.leaky_relu(x)),
                    (2, 3, 5)),
    "reduce_sum": (lambda: Fn(lambda x: x.sum(-1) + x.mean(1, keepdim=True).squeeze(1)), (2, 4, 4)),
    "layer_norm": (lambda: nn.LayerNorm(8), (2, 3, 8)),
    "group_norm": (lambda: nn.GroupNorm(2, 6), (2, 6, 3, 3)),
}


def _bn_n(n):
    bn = nn.BatchNorm2d(n)
    with torch.no_grad():
        bn.running_var.uniform_(0.5, 2.0)
        bn.running_mean.uniform_(-1, 1)
    return bn


@pytest.mark.parametrize("name", list(FP16_CASES))
def test_fp16(name):
    factory, shape = FP16_CASES[name]
    torch.manual_seed(0)
    model = factory().half()
    parsed = check(model, rnd(*shape, dtype=torch.float16), tol=1e-2)
    x = parsed.network.get_input(0)
    assert x.dtype.name == "HALF"


def test_fp16_overflow_shows():
    """Computing in fp16 on the CPU exposes overflow that an fp32 oracle would hide."""
    model = Fn(lambda x: x * 300.0 * 300.0).half()
    parsed = torch_to_trt(model, [torch.ones(2, dtype=torch.float16)])
    out = list(Executor(parsed.network)([torch.ones(2, dtype=torch.float16)]).values())[0]
    assert out.dtype == torch.float16 and torch.isinf(out).all()


def test_kinds_covered():
    """The parser's layer kinds these tests exercised (run last in this module)."""
    expected = {"CONVOLUTION", "DECONVOLUTION", "ACTIVATION", "POOLING", "SOFTMAX", "ELEMENTWISE", "UNARY",
                "SHUFFLE", "SLICE", "CONCATENATION", "GATHER", "MATRIX_MULTIPLY", "REDUCE", "TOPK", "RESIZE",
                "SELECT", "CONSTANT", "CAST", "NORMALIZATION", "CUMULATIVE", "EINSUM", "ONE_HOT", "SCATTER",
                "GRID_SAMPLE", "CONDITION", "PARAMETRIC_RELU", "SQUEEZE", "UNSQUEEZE", "SHAPE"}
    if len(SEEN_KINDS) > 5:  # only meaningful when the whole module ran
        assert expected <= SEEN_KINDS, sorted(expected - SEEN_KINDS)
