"""The new ops against NVIDIA's ONNX mapping: torch -> ONNX -> OnnxParser -> Executor == torch == trtnn's network.

For each case (a) the parsed network, run on the CPU executor, matches torch and (b) it matches the network trtnn
defines for the same op / module (same weights). Ops the TorchScript exporter cannot export (its error asserted) or
exports wrongly go through the dynamo exporter; an op no exporter or the parser cannot handle is skipped with the
tool's own error text."""
from __future__ import annotations

import re
import warnings
from typing import List, Sequence

import pytest
import torch

import trtnn
import trtnn.nn as tnn
from harness import Fn, Random, TORCH, as_list, define_and_run, rel_err
from onnx_util import export_onnx, parse_onnx
from ops_harness import randomized
from trtnn.reference import Executor

TOL = 1e-5
r = Random(11)
g = r.generator


class TorchFn(torch.nn.Module):
    """fn(torch namespace, *xs) as an exportable torch module."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(TORCH, *xs)


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


def export_dynamo(model: torch.nn.Module, inputs: Sequence[torch.Tensor]) -> bytes:
    """ONNX bytes from torch's dynamo exporter (opset 18): slower, but it knows ops the TorchScript one lacks."""
    names = [f"in{i}" for i in range(len(inputs))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prog = torch.onnx.export(model, tuple(inputs), dynamo=True, opset_version=18, input_names=names,
                                 verbose=False)
    return prog.model_proto.SerializeToString()


def export(model: torch.nn.Module, inputs: Sequence[torch.Tensor], case: str) -> bytes:
    """ONNX bytes of `model`: the TorchScript exporter, or the dynamo one for the cases it cannot export (asserting
    its error first) or exports wrongly; skips with the exporter's error if that fails."""
    if case in TORCHSCRIPT_CANNOT:
        with pytest.raises(Exception, match=re.escape(TORCHSCRIPT_CANNOT[case])):
            export_onnx(model, inputs)
    use_dynamo = case in TORCHSCRIPT_CANNOT or case in TORCHSCRIPT_WRONG
    try:
        return export_dynamo(model, inputs) if use_dynamo else export_onnx(model, inputs)
    except Exception as err:  # the exporter's own error is the skip reason
        pytest.skip(f"torch.onnx.export ({'dynamo' if use_dynamo else 'TorchScript'}): {_first_line(err)}")


def run_parsed(onnx_bytes: bytes, inputs: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """Parse ONNX with TensorRT's OnnxParser (NVIDIA's mapping) and run the network on the CPU executor."""
    try:
        parsed = parse_onnx(onnx_bytes)
    except RuntimeError as err:
        pytest.skip(f"OnnxParser: {_first_line(err)}")
    net = parsed.network
    got = Executor(net)(list(inputs), keep_all=True)
    return [got[net.get_output(i).name] for i in range(net.num_outputs)]


def nvidia_outputs(model: torch.nn.Module, inputs: Sequence[torch.Tensor], case: str) -> List[torch.Tensor]:
    """Outputs of NVIDIA's mapping of `model` (ONNX export + OnnxParser) run on the CPU executor."""
    return run_parsed(export(model.eval(), inputs, case), inputs)


def compare(want: Sequence[torch.Tensor], nvidia: Sequence[torch.Tensor], mine: Sequence[torch.Tensor]) -> None:
    """NVIDIA's network vs torch, and NVIDIA's network vs trtnn's: same shapes and dtypes, values within TOL."""
    assert len(nvidia) == len(want) == len(mine)
    for w, nv, m in zip(want, nvidia, mine):
        assert tuple(nv.shape) == tuple(w.shape) == tuple(m.shape)
        if not w.is_floating_point():
            assert torch.equal(nv.to(w.dtype), w) and torch.equal(m.to(w.dtype), w)
            continue
        assert nv.dtype == w.dtype == m.dtype
        err_torch, err_trtnn = rel_err(nv, w), rel_err(nv, m)
        assert err_torch <= TOL, f"NVIDIA's network vs torch: relative error {err_torch:.3g} > {TOL}"
        assert err_trtnn <= TOL, f"NVIDIA's network vs trtnn's: relative error {err_trtnn:.3g} > {TOL}"


X = r(2, 6, 5, 7) * 3 + 1
X1, X3 = r(2, 4, 13), r(1, 4, 5, 7, 6)
W6, B6, W7, B7 = r(6), r(6), r(7), r(7)
Q, K, V = r(2, 3, 5, 8), r(2, 3, 6, 8), r(2, 3, 6, 8)
MASK = r(5, 6) > 0
MASK[:, 0] = True  # no fully masked row (torch gives NaN there)
FLOAT_MASK = r(2, 1, 5, 6)
M = r(5, 7) > 0
IDX = torch.randint(0, 10, (2, 7), generator=g)
EMB, SLOPES = r(10, 4), r(6).abs() * 0.3

# cases the TorchScript exporter (opset 17) cannot export, with its error; they go through the dynamo exporter
TORCHSCRIPT_CANNOT = {
    "rms_norm": "'aten::rms_norm' to ONNX opset version 17 is not supported",
    "RMSNorm": "'aten::rms_norm' to ONNX opset version 17 is not supported",
    "channel_shuffle": "'aten::channel_shuffle' to ONNX opset version 17 is not supported",
    "ChannelShuffle": "'aten::channel_shuffle' to ONNX opset version 17 is not supported",
    "interpolate_nearest_exact": "'aten::_upsample_nearest_exact2d' to ONNX opset version 17 is not supported",
    "interpolate_nearest_exact_3d": "'aten::_upsample_nearest_exact3d' to ONNX opset version 17 is not supported",
    "roll_flat": "len(shifts)=1 != len(dims)=0",
    "AdaptiveAvgPool1d": "adaptive_avg_pool1d, output size that are not factor of input size",
}
# cases it exports into a graph that computes something else (test_torchscript_exporter_deviations): dynamo too
TORCHSCRIPT_WRONG = {"roll_beyond_size", "softplus_threshold", "Softplus_threshold"}

FUNCTIONAL = {
    "layer_norm": (lambda F, x: F.layer_norm(x, (7,), W7, B7, 1e-3), [X]),
    "layer_norm_channels_last": (
        lambda F, x: F.layer_norm(x.permute(0, 2, 3, 1), (6,), W6, B6).permute(0, 3, 1, 2), [X]),
    "group_norm": (lambda F, x: F.group_norm(x, 3, W6, B6), [X]),
    "instance_norm": (lambda F, x: F.instance_norm(x, weight=W6, bias=B6), [X]),
    "rms_norm": (lambda F, x: F.rms_norm(x, (7,), W7), [X]),
    "pixel_shuffle": (lambda F, x: F.pixel_shuffle(x, 2), [r(2, 8, 3, 4)]),
    "pixel_unshuffle": (lambda F, x: F.pixel_unshuffle(x, 2), [r(2, 3, 6, 4)]),
    "interpolate_bicubic": (lambda F, x: F.interpolate(x, size=(11, 9), mode="bicubic"), [X]),
    "interpolate_bicubic_align_corners": (
        lambda F, x: F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=True), [X]),
    "interpolate_trilinear": (lambda F, x: F.interpolate(x, scale_factor=2, mode="trilinear"), [X3]),
    "interpolate_trilinear_align_corners": (
        lambda F, x: F.interpolate(x, size=(3, 9, 4), mode="trilinear", align_corners=True), [X3]),
    "interpolate_nearest_exact": (lambda F, x: F.interpolate(x, size=(9, 11), mode="nearest-exact"), [X]),
    "interpolate_nearest_exact_3d": (lambda F, x: F.interpolate(x, size=(7, 3, 9), mode="nearest-exact"), [X3]),
    "embedding": (lambda F, i: F.embedding(i, EMB), [IDX]),
    "sdpa": (lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v), [Q, K, V]),
    "sdpa_causal": (lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [Q, K, V]),
    "sdpa_bool_mask": (lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=MASK), [Q, K, V]),
    "sdpa_float_mask_scale": (
        lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, FLOAT_MASK, scale=0.3), [Q, K, V]),
    "einsum_matmul": (lambda F, a, b: F.einsum("bij,bjk->bik", a, b), [r(2, 3, 4), r(2, 4, 5)]),
    "einsum_transpose": (lambda F, a: F.einsum("nchw->nhwc", a), [X]),
    "cumsum": (lambda F, x: F.cumsum(x, 2), [X]),
    "cumsum_last": (lambda F, x: x.cumsum(-1), [X]),
    "roll": (lambda F, x: F.roll(x, (-3, 2), (2, 1)), [X]),
    "roll_beyond_size": (lambda F, x: F.roll(x, (-3, 7), (2, 1)), [X]),
    "roll_flat": (lambda F, x: F.roll(x, 11), [X]),
    "flip": (lambda F, x: F.flip(x, (0, -1, 2)), [X]),
    "tril": (lambda F, x: F.tril(x, -1), [X]),
    "triu": (lambda F, x: x.triu(2), [X]),
    "masked_fill": (lambda F, x: x.masked_fill(M, -1.5), [X]),
    "masked_fill_input_mask": (lambda F, x, m: F.masked_fill(x, m, -1e4), [X, M]),
    "repeat": (lambda F, x: x.repeat(2, 1, 3, 1), [X]),
    "gelu_tanh": (lambda F, x: F.gelu(x, approximate="tanh"), [X]),
    "softplus": (lambda F, x: F.softplus(x, beta=2.0), [X]),
    "softplus_threshold": (lambda F, x: F.softplus(x, beta=2.0, threshold=3.0), [X]),
    "hardtanh": (lambda F, x: F.hardtanh(x, -2.0, 3.0), [X]),
    "logsigmoid": (lambda F, x: F.logsigmoid(x), [X]),
    "prelu": (lambda F, x: F.prelu(x, SLOPES), [X]),
    "channel_shuffle": (lambda F, x: F.channel_shuffle(x, 3), [X]),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional(name):
    fn, inputs = FUNCTIONAL[name]
    want = as_list(fn(TORCH, *inputs))
    _, mine = define_and_run(Fn(lambda *xs: fn(trtnn.functional, *xs)), inputs)
    compare(want, nvidia_outputs(TorchFn(fn), inputs, name), mine)


MODULES = {
    "LayerNorm": (lambda m: m.LayerNorm(7), [X]),
    "GroupNorm": (lambda m: m.GroupNorm(2, 6), [X]),
    "InstanceNorm1d_affine": (lambda m: m.InstanceNorm1d(6, affine=True), [r(2, 6, 9)]),
    "InstanceNorm2d": (lambda m: m.InstanceNorm2d(6), [X]),
    "InstanceNorm2d_running": (lambda m: m.InstanceNorm2d(6, affine=True, track_running_stats=True), [X]),
    "RMSNorm": (lambda m: m.RMSNorm(7), [X]),
    "BatchNorm3d": (lambda m: m.BatchNorm3d(4), [X3]),
    "Conv1d": (lambda m: m.Conv1d(4, 6, 3, stride=2, padding=1), [X1]),
    "Conv1d_groups_dilation": (lambda m: m.Conv1d(4, 6, 3, padding="same", dilation=2, groups=2), [X1]),
    "Conv3d": (lambda m: m.Conv3d(4, 6, (3, 1, 3), stride=2, padding=(1, 0, 1)), [X3]),
    "ConvTranspose1d": (lambda m: m.ConvTranspose1d(4, 6, 4, stride=2, padding=1, output_padding=1), [X1]),
    "ConvTranspose3d": (lambda m: m.ConvTranspose3d(4, 2, 2, stride=2), [X3]),
    "MaxPool1d": (lambda m: m.MaxPool1d(3, 2, 1), [X1]),
    "MaxPool1d_ceil": (lambda m: m.MaxPool1d(2, ceil_mode=True), [X1]),
    "AvgPool1d": (lambda m: m.AvgPool1d(3, padding=1, count_include_pad=False), [X1]),
    "MaxPool3d": (lambda m: m.MaxPool3d(3, (1, 2, 2), 1), [X3]),
    "AvgPool3d": (lambda m: m.AvgPool3d(3, 2, 1), [X3]),
    "AvgPool3d_ceil": (lambda m: m.AvgPool3d(2, ceil_mode=True), [X3]),
    "AdaptiveAvgPool1d": (lambda m: m.AdaptiveAvgPool1d(5), [X1]),
    "AdaptiveAvgPool1d_1": (lambda m: m.AdaptiveAvgPool1d(1), [X1]),
    "PixelShuffle": (lambda m: m.PixelShuffle(2), [r(2, 8, 3, 4)]),
    "PixelUnshuffle": (lambda m: m.PixelUnshuffle(3), [r(1, 2, 6, 9)]),
    "Embedding": (lambda m: m.Embedding(10, 4, padding_idx=0), [IDX]),
    "GELU_tanh": (lambda m: m.GELU(approximate="tanh"), [X]),
    "Softplus": (lambda m: m.Softplus(beta=0.5), [X]),
    "Softplus_threshold": (lambda m: m.Softplus(beta=0.5, threshold=1.0), [X]),
    "Hardtanh": (lambda m: m.Hardtanh(-0.5, 2.0), [X]),
    "LogSigmoid": (lambda m: m.LogSigmoid(), [X]),
    "PReLU": (lambda m: m.PReLU(), [X]),
    "PReLU_channels": (lambda m: m.PReLU(6), [X]),
    "ChannelShuffle": (lambda m: m.ChannelShuffle(2), [X]),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module(name):
    make, inputs = MODULES[name]
    ref = randomized(make(torch.nn))
    mine = make(tnn)
    mine.load_state_dict(ref.state_dict(), strict=True)
    with torch.no_grad():
        want = as_list(ref(*inputs))
    _, got = define_and_run(mine, inputs)
    compare(want, nvidia_outputs(ref, inputs, name), got)


class Attend(torch.nn.Module):
    """Self-attention call of a MultiheadAttention (torch or trtnn) with fixed keyword arguments."""

    def __init__(self, inner, kw):
        super().__init__()
        self.inner, self.kw = inner, kw

    def forward(self, x):
        return tuple(o for o in self.inner(x, x, x, **self.kw) if o is not None)


class TrtAttend(trtnn.Module):
    def __init__(self, inner, kw):
        super().__init__()
        self.inner, self.kw = inner, kw

    def forward(self, x):
        return tuple(o for o in self.inner(x, x, x, **self.kw) if o is not None)


MHA = {  # (constructor kwargs, forward kwargs)
    "seq_first_with_weights": ({}, {}),
    "batch_first_no_weights": ({"batch_first": True}, {"need_weights": False}),
    "bool_mask": ({"batch_first": True}, {"attn_mask": torch.ones(5, 5, dtype=torch.bool).triu(1),
                                          "need_weights": False}),
}


@pytest.mark.parametrize("name", sorted(MHA))
def test_multihead_attention(name):
    ctor, kw = MHA[name]
    x = r(2, 5, 16)
    ref = Attend(randomized(torch.nn.MultiheadAttention(16, 4, **ctor)), kw).eval()
    mine = TrtAttend(tnn.MultiheadAttention(16, 4, **ctor), kw)
    mine.load_state_dict(ref.state_dict(), strict=True)
    with torch.no_grad():
        want = as_list(ref(x))
    _, got = define_and_run(mine, [x])
    compare(want, nvidia_outputs(ref, [x], name), got)


def test_torchscript_exporter_deviations():
    """Why TORCHSCRIPT_WRONG exists: the TorchScript exporter's graphs compute something else than torch.

    roll by more than the dim size exports as slices that clamp, i.e. the identity; softplus drops `threshold`."""
    x = X * 2
    rolled = run_parsed(export_onnx(TorchFn(FUNCTIONAL["roll_beyond_size"][0]).eval(), [x]), [x])[0]
    assert torch.equal(rolled, torch.roll(x, -3, 2)) and not torch.equal(rolled, torch.roll(x, (-3, 7), (2, 1)))
    soft = run_parsed(export_onnx(TorchFn(FUNCTIONAL["softplus_threshold"][0]).eval(), [x]), [x])[0]
    assert rel_err(soft, torch.log1p(torch.exp(2 * x)) / 2) <= TOL
    assert rel_err(soft, torch.nn.functional.softplus(x, 2.0, 3.0)) > 100 * TOL
