"""INT8/FP8 by explicit Q/DQ (trtnn.quant): placement per pattern, exclusions and kept precisions, QAT ranges,
the CPU executor's Q/DQ against float64, and real TensorRT-RTX builds."""
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import trtnn
import trtnn.functional as F
import trtnn.nn as nn
from trtnn.quant import QAT_KEYS, qat_calibration
from trtnn.reference import Executor
from trtnn.reference.common import typed

FP8 = torch.float8_e4m3fn


# ---- helpers --------------------------------------------------------------------------------------------------------
def randomize(model, seed=0):
    """Random weights and BatchNorm statistics (running_var > 0)."""
    g = torch.Generator().manual_seed(seed)
    for key, v in model.state_dict().items():
        if not v.is_floating_point():
            continue
        if "running_var" in key:
            v.copy_(torch.rand(v.shape, generator=g) + 0.5)
        else:
            v.copy_(torch.randn(v.shape, generator=g) * 0.3)
    return model


def abs_max(model, inputs, feed):
    """Abs-max calibration: every tensor of the fp32 network (and the inputs) on `feed`."""
    net = trtnn.define(model, inputs, dtype="fp32")
    vals = Executor(net.network)(feed, keep_all=True)
    amax = {k: float(v.abs().max()) for k, v in vals.items() if v.is_floating_point()}
    amax.update({k: float(v.abs().max()) for k, v in feed.items()})
    return amax


def layers(net):
    """Layer name -> layer, typed as the reference executor reads them."""
    out = {}
    for i in range(net.network.num_layers):
        layer = typed(net.network.get_layer(i))[1]
        out[layer.name] = layer
    return out


def producer(net, tensor):
    """The layer that makes `tensor`."""
    for layer in layers(net).values():
        if any(layer.get_output(j).name == tensor.name for j in range(layer.num_outputs)):
            return layer
    return None


def kind(net, tensor):
    """The LayerType name of the layer that makes `tensor`."""
    return _kinds(net)[producer(net, tensor).name]


def _kinds(net):
    return {net.network.get_layer(i).name: net.network.get_layer(i).type.name for i in range(net.network.num_layers)}


def const(net, name):
    """The value of constant layer `name` as a torch tensor (int8 / float)."""
    layer = layers(net)[name]
    return torch.from_numpy(np.array(layer.weights).copy()).reshape(tuple(layer.shape))


def assert_qdq_input(net, layer, index, tensor, amax, qmax=127.0):
    """Input `index` of `layer` is DQ(Q(tensor, amax/qmax)), scale as given."""
    dq = producer(net, layer.get_input(index))
    assert dq.name == f"{tensor}:dequantize" and kind(net, layer.get_input(index)) == "DEQUANTIZE"
    q = producer(net, dq.get_input(0))
    assert q.name == f"{tensor}:quantize" and q.get_input(0).name == tensor
    assert float(const(net, f"{tensor}:scale")) == pytest.approx(amax / qmax, rel=1e-6)


class ConvBnAct(nn.Module):
    def __init__(self, c1, c2, k=3):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, padding=k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.cv1, self.cv2 = ConvBnAct(3, 8), ConvBnAct(8, 8)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        y = self.cv1(x)
        return self.head(y + self.cv2(y))


class Concat(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        return self.head(F.cat([self.a(x), self.b(x) * 3.0], 1))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16)

    def forward(self, x):
        h = self.fc2(self.act(self.fc1(x)))
        return F.matmul(h, x.transpose(0, 1))  # two activations


X = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
IN = [trtnn.Input("x", (1, 3, 16, 16))]


def defined(model, dtype="int8", feed=None, inputs=IN, base_dtype="fp32", **kw):
    """The quantized network of `model` with abs-max calibration on `feed`, and that calibration."""
    amax = abs_max(model, inputs, {"x": X} if feed is None else feed)
    return trtnn.define(model, inputs, dtype=dtype, calibration=amax, base_dtype=base_dtype, **kw), amax


# ---- placement per pattern ------------------------------------------------------------------------------------------
def test_conv_bn_act_quantizes_input_and_folded_kernel_per_channel_not_between_conv_and_act():
    model = randomize(ConvBnAct(3, 8))
    net, amax = defined(model)
    ls = layers(net)
    conv = ls["conv + bn"]
    assert_qdq_input(net, conv, 0, "x", amax["x"])
    wdq = producer(net, conv.get_input(1))
    assert wdq.name == "conv + bn:weight_dequantize" and wdq.axis == 0
    q = const(net, "conv + bn:weight")
    assert q.dtype == torch.int8 and tuple(q.shape) == (8, 3, 3, 3)
    bn = model.bn
    folded = model.conv.weight.data.double() * (bn.weight.data.double() / (bn.running_var.double() + bn.eps).sqrt()
                                                ).reshape(-1, 1, 1, 1)
    scale = const(net, "conv + bn:weight_scale").double()
    assert torch.allclose(scale, folded.abs().reshape(8, -1).amax(1) / 127, rtol=1e-6)  # AFTER folding
    assert q.abs().reshape(8, -1).amax(1).tolist() == [127] * 8
    assert (q.double() * scale.reshape(-1, 1, 1, 1) - folded).abs().max() <= scale.max() / 2 + 1e-7
    # the activation reads the convolution's output directly: no Q/DQ between conv and act
    assert ls["act:sigmoid"].get_input(0).name == conv.get_output(0).name
    assert ls["act:mul"].get_input(0).name == conv.get_output(0).name
    assert net.quantized == ["conv + bn"]


def test_residual_add_quantizes_both_inputs_with_their_own_scales():
    net, amax = defined(randomize(Residual()))
    add = layers(net)["add"]
    assert_qdq_input(net, add, 0, "cv1.act", amax["cv1.act"])
    assert_qdq_input(net, add, 1, "cv2.act", amax["cv2.act"])
    assert amax["cv1.act"] != amax["cv2.act"]
    # cv1's output also feeds cv2's convolution: one Q/DQ shared by both consumers
    assert layers(net)["cv2.conv + cv2.bn"].get_input(0).name == "cv1.act:dequantize"
    assert_qdq_input(net, layers(net)["head"], 0, "add", amax["add"])


class PlainAdd(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        s = F.relu(x) + F.sigmoid(x)  # no convolution to fuse the add into
        return self.head(s)


def test_add_without_a_convolution_input_stays_float():
    net, amax = defined(randomize(PlainAdd()))
    add = layers(net)["add"]
    assert kind(net, add.get_input(0)) == "ACTIVATION" and kind(net, add.get_input(1)) == "ACTIVATION"
    assert net.quantized == ["head"]
    assert_qdq_input(net, layers(net)["head"], 0, "add", amax["add"])


def test_concat_inputs_share_one_scale_the_max_amax():
    net, amax = defined(randomize(Concat()))
    cat = layers(net)["cat"]
    shared = max(amax["a"], amax["mul"], amax["cat"])
    assert amax["a"] < amax["mul"]  # the scales differ before sharing
    assert_qdq_input(net, cat, 0, "a", shared)
    assert_qdq_input(net, cat, 1, "mul", shared)
    assert_qdq_input(net, layers(net)["head"], 0, "cat", shared)


def test_linear_and_matmul_quantize_weights_per_output_channel_and_activations_per_tensor():
    model = randomize(Mlp())
    inputs = [trtnn.Input("x", (4, 16))]
    feed = {"x": torch.randn(4, 16)}
    net, amax = defined(model, feed=feed, inputs=inputs)
    fc1 = layers(net)["fc1:linear"]
    assert_qdq_input(net, fc1, 0, "x", amax["x"])
    wdq = producer(net, fc1.get_input(1))
    assert wdq.name == "fc1:linear:weight_dequantize" and wdq.axis == 0
    assert const(net, "fc1:linear:weight").dtype == torch.int8
    assert torch.allclose(const(net, "fc1:linear:weight_scale"), model.fc1.weight.data.abs().amax(1) / 127)
    mm = layers(net)["matmul"]
    assert kind(net, mm.get_input(0)) == "DEQUANTIZE"
    assert kind(net, mm.get_input(1)) == "DEQUANTIZE"  # the transposed input, per tensor
    trtnn.build_network(net)  # TensorRT-RTX accepts it


class Looped(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = F.fixed_point(lambda t: F.relu(F.matmul(t, torch.eye(4))), x)  # a matmul inside a while-loop
        return self.fc(y)


def test_nothing_is_quantized_inside_loops_even_with_an_amax_for_everything():
    model = randomize(Looped())
    inputs = [trtnn.Input("x", (4, 4))]
    fp32 = trtnn.define(model, inputs, dtype="fp32")
    layers_ = [fp32.network.get_layer(i) for i in range(fp32.network.num_layers)]
    everything = {la.get_output(j).name: 2.0 for la in layers_ for j in range(la.num_outputs)}
    assert "fixed_point:x" in everything
    net = trtnn.define(model, inputs, dtype="int8", calibration={**everything, "x": 2.0}, base_dtype="fp32")
    assert net.quantized == ["fc:linear"]
    x = torch.rand(4, 4)
    assert torch.allclose(Executor(net.network)({"x": x})["output"], Executor(fp32.network)({"x": x})["output"],
                          atol=0.05)
    trtnn.build_network(net)


# ---- exclusions and kept precision ----------------------------------------------------------------------------------
@pytest.mark.parametrize("exclude", [["head"], ["Conv2d"], ["CONVOLUTION"]])
def test_exclude_by_path_type_or_layer_type_leaves_layers_unquantized(exclude):
    net, _ = defined(randomize(Residual()), exclude=exclude)
    head = layers(net)["head"]
    assert kind(net, head.get_input(0)) != "DEQUANTIZE"
    assert kind(net, head.get_input(1)) == "CONSTANT"  # float kernel
    assert "add" in net.quantized and "head" not in net.quantized
    assert ("cv1.conv + cv1.bn" in net.quantized) == (exclude == ["head"])


def test_exclude_unknown_name_and_calibration_errors():
    model = randomize(Residual())
    with pytest.raises(trtnn.ConfigError, match=r"exclude: 'nope' is neither a module path nor a module type"):
        trtnn.define(model, IN, dtype="int8", calibration={"x": 1.0}, exclude=["nope"])
    with pytest.raises(trtnn.ConfigError, match=r"dtype='int8' needs calibration="):
        trtnn.define(model, IN, dtype="int8")
    with pytest.raises(trtnn.ConfigError, match=r"amax of 'x' must be finite and >= 0, got -1.0"):
        trtnn.define(model, IN, dtype="int8", calibration={"x": -1})
    with pytest.raises(trtnn.ConfigError, match=r"no amax for any tensor that would be quantized \(e\.g\. \['x'"):
        trtnn.define(model, IN, dtype="int8", calibration={"other": 1.0})
    with pytest.raises(trtnn.ConfigError, match=r"calibration= and exclude= are for dtype='int8' or 'fp8'"):
        trtnn.define(model, IN, dtype="fp16", calibration={"x": 1.0})


def test_keep_fp32_computes_the_module_in_fp32_unquantized_inside_an_fp16_network():
    model = randomize(Residual())
    amax = abs_max(model, IN, {"x": X})
    net = trtnn.define(model, IN, dtype="int8", calibration=amax, keep_fp32=["cv2"])
    ls = layers(net)
    f32, f16 = net.ctx.trt.DataType.FLOAT, net.ctx.trt.DataType.HALF
    assert ls["cv2.conv + cv2.bn"].get_input(0).dtype == f32
    assert kind(net, ls["cv2.conv + cv2.bn"].get_input(1)) == "CONSTANT"
    assert ls["head"].get_input(0).dtype == f16 and "head" in net.quantized
    assert "cv2.conv + cv2.bn" not in net.quantized
    out = {i.name: i for i in [ls["add"].get_input(1)]}
    assert list(out.values())[0].dtype == f16  # cast back on the way out of cv2
    fp32 = Executor(trtnn.define(model, IN, dtype="fp32").network)({"x": X})["output"]
    y = Executor(net.network)({"x": X})["output"]
    assert 10 * torch.log10(fp32.pow(2).mean() / (y - fp32).pow(2).mean()) > 30  # SQNR (dB)


def test_keep_fp16_in_an_fp32_network_and_conflicts():
    model = randomize(Residual())
    net = trtnn.define(model, IN, dtype="fp32", keep_fp16=["ConvBnAct"])
    ls = layers(net)
    assert ls["cv1.conv + cv1.bn"].get_input(0).dtype == net.ctx.trt.DataType.HALF
    assert ls["head"].get_input(0).dtype == net.ctx.trt.DataType.FLOAT
    with pytest.raises(trtnn.ConfigError, match=r"keep_fp32 and keep_fp16 both name \['cv1'\]"):
        trtnn.define(model, IN, dtype="fp32", keep_fp16=["cv1"], keep_fp32=["cv1"])


# ---- QAT import -----------------------------------------------------------------------------------------------------
def test_modelopt_amax_builds_qdq_with_exactly_those_ranges():
    model = randomize(Residual())
    w_amax = torch.linspace(0.5, 1.2, 8).reshape(8, 1, 1, 1)
    sd = dict(model.state_dict())
    sd.update({"cv1.conv.input_quantizer._amax": torch.tensor(2.5), "cv1.conv.weight_quantizer._amax": w_amax,
               "cv2.conv.input_quantizer._amax": torch.tensor(1.5), "head.input_quantizer._amax": torch.tensor(3.0),
               "head.output_quantizer._amax": torch.tensor(9.0), "cv1.conv.input_quantizer._pre_quant_scale": 1.0})
    model.load_state_dict(sd, ignore=QAT_KEYS)
    ranges = qat_calibration(sd)
    assert ranges.amax == {"cv1.conv:input": 2.5, "cv2.conv:input": 1.5, "head:input": 3.0, "head": 9.0}
    assert torch.equal(ranges.weight_amax["cv1.conv"], w_amax.flatten())
    net = trtnn.define(model, IN, dtype="int8", calibration=ranges, base_dtype="fp32")
    assert float(const(net, "cv1.conv:input:scale")) == pytest.approx(2.5 / 127)  # exactly where ModelOpt had them
    assert float(const(net, "cv2.conv:input:scale")) == pytest.approx(1.5 / 127)
    assert float(const(net, "output:scale")) == pytest.approx(9.0 / 127)  # the output quantizer: on the output
    bn = model.cv1.bn
    bn_scale = (bn.weight.data.double() / (bn.running_var.double() + bn.eps).sqrt()).abs()
    expected = w_amax.flatten().double() * bn_scale / 127  # the unfolded kernel's range, scaled as folding scales it
    assert torch.allclose(const(net, "cv1.conv + cv1.bn:weight_scale").double(), expected, rtol=1e-6)


def test_torch_ao_fake_quant_scales_become_the_engine_scales():
    model = randomize(Residual())
    sd = dict(model.state_dict())
    w_scale = torch.linspace(0.01, 0.02, 8)
    sd.update({
        "x.activation_post_process.scale": torch.tensor([0.02]),  # symmetric signed: scale kept exactly
        "x.activation_post_process.zero_point": torch.tensor([0], dtype=torch.int32),
        "x.activation_post_process.activation_post_process.min_val": torch.tensor(-2.0),
        "cv1.act.activation_post_process.scale": torch.tensor([0.01]),  # unsigned [0, 255], zero_point 0
        "cv1.act.activation_post_process.zero_point": torch.tensor([0]),
        "cv1.act.activation_post_process.activation_post_process.min_val": torch.tensor(0.0),
        "cv1.act.activation_post_process.activation_post_process.max_val": torch.tensor(2.55),
        "cv2.act.activation_post_process.scale": torch.tensor([0.03]),  # affine quint8 with zero_point 40
        "cv2.act.activation_post_process.zero_point": torch.tensor([40]),
        "add.activation_post_process.scale": torch.tensor([10 / 255]),  # quint8 [0, 255], zero_point 102
        "add.activation_post_process.zero_point": torch.tensor([102]),
        "add.activation_post_process.activation_post_process.min_val": torch.tensor(-4.0),
        "add.activation_post_process.activation_post_process.max_val": torch.tensor(6.0),
        "cv1.conv.weight_fake_quant.scale": w_scale,
        "cv1.conv.weight_fake_quant.zero_point": torch.zeros(8, dtype=torch.int32),
        "cv1.conv.weight_fake_quant.fake_quant_enabled": torch.tensor([1]),
    })
    model.load_state_dict(sd, ignore=QAT_KEYS)
    ranges = qat_calibration(sd)
    # symmetric: 127 s; [0, 255] with zero_point 0: the nearest symmetric range 255 s; [0, 255] with zero_point 40:
    # max(40 / 128, 215 / 127) * 127 s = 215 s; zero_point 102 of [0, 255] (the range told by the observer's min/max):
    # 153 s
    assert ranges.amax == pytest.approx({"x": 0.02 * 127, "cv1.act": 0.01 * 255, "cv2.act": 0.03 * 215,
                                         "add": 10 / 255 * 153}, rel=1e-6)
    assert [s.key for s in ranges.sites if not s.exact] == ["cv1.act.activation_post_process.scale",
                                                           "cv2.act.activation_post_process.scale",
                                                           "add.activation_post_process.scale"]
    assert torch.allclose(ranges.weight_amax["cv1.conv"], w_scale * 127)
    net = trtnn.define(model, IN, dtype="int8", calibration=ranges, base_dtype="fp32", fold_bn=False)
    assert float(const(net, "x:scale")) == pytest.approx(0.02, rel=1e-6)  # exactly the trained scale
    assert torch.allclose(const(net, "cv1.conv:weight_scale"), w_scale, rtol=1e-6)
    with pytest.raises(trtnn.StateDictError, match="unexpected keys"):
        model.load_state_dict(sd)


def test_scales_are_amax_over_qmax_in_the_tensor_dtype_and_always_valid():
    from trtnn.quant import scale_of
    assert scale_of(torch.tensor([127.0, 0.0, 1e9]), torch.int8, torch.float16).tolist() == [1.0, 2.0 ** -14, 65504.0]
    assert scale_of(torch.tensor(448.0), FP8, torch.float32).item() == 1.0
    with pytest.raises(trtnn.ConfigError, match=r"amax must be finite and >= 0, got \[nan\]"):
        scale_of(torch.tensor([float("nan")]), torch.int8, torch.float32)


# ---- the CPU executor's Q/DQ against a direct float64 implementation -----------------------------------------------
def _e4m3_reference(v: torch.Tensor) -> torch.Tensor:
    """Round float64 values to E4M3 by search over all 256 codes: nearest, ties to the even code, saturating."""
    codes = torch.arange(256, dtype=torch.int32).to(torch.uint8).view(FP8).double()
    finite = torch.isfinite(codes)
    vals, idx = codes[finite], torch.arange(256)[finite]
    v = v.clamp(-448, 448)
    d = (v.reshape(-1, 1) - vals.reshape(1, -1)).abs()
    best = d.min(1, keepdim=True).values
    cand = (d == best) & (idx.reshape(1, -1) % 2 == 0)  # a tie picks the even mantissa
    pick = torch.where(cand.any(1), (cand * 1).argmax(1), (d == best).int().argmax(1))
    return vals[pick].reshape(v.shape)


def _qdq_network(fmt, scale, axis, shape):
    from trtnn.graph.context import BuildContext
    ctx = BuildContext()
    x = ctx.add_input("x", shape, torch.float32)
    s = ctx.constant(torch.tensor(scale, dtype=torch.float32))
    q = ctx.network.add_quantize(x.trt, s.trt, trtnn.dtypes.to_trt(fmt))
    dq = ctx.network.add_dequantize(q.get_output(0), s.trt, ctx.trt.DataType.FLOAT)
    if axis is not None:
        q.axis = dq.axis = axis
    ctx.network.mark_output(q.get_output(0))
    q.get_output(0).name = "q"
    ctx.network.mark_output(dq.get_output(0))
    dq.get_output(0).name = "dq"
    return ctx


def test_executor_int8_qdq_is_round_half_even_saturating_per_channel():
    scale = [0.5, 0.25, 2.0]
    x = torch.tensor([[-0.75, 0.25, 0.75, 1.25, 63.75, 64.0, -64.25, -70.0],  # ties at k + 0.5, saturation
                      [-0.125, 0.125, 0.375, 31.875, 32.0, -32.125, 1e9, -1e9],
                      [1.0, 3.0, 5.0, -1.0, -3.0, 255.0, 257.0, -259.0]]).float()
    ctx = _qdq_network(torch.int8, scale, 0, (3, 8))
    out = Executor(ctx.network)({"x": x})
    s = torch.tensor(scale, dtype=torch.float64).reshape(3, 1)
    q_ref = np.clip(np.round(x.double().numpy() / s.numpy()), -128, 127)  # numpy rounds half to even
    assert out["q"].dtype == torch.int8 and np.array_equal(out["q"].numpy(), q_ref)
    assert torch.equal(out["dq"].double(), torch.from_numpy(q_ref) * s)
    assert out["q"][0].tolist() == [-2, 0, 2, 2, 127, 127, -128, -128]


def test_executor_fp8_qdq_rounds_to_nearest_even_e4m3_and_saturates():
    g = torch.Generator().manual_seed(0)
    codes = torch.arange(256, dtype=torch.int32).to(torch.uint8).view(FP8).double()
    grid = codes[torch.isfinite(codes)]
    mids = (grid.sort().values[1:] + grid.sort().values[:-1]) / 2  # exact ties between neighbours
    x = torch.cat([torch.randn(500, generator=g) * 100, mids, torch.tensor([500.0, -1e6, 447.9, 464.0])]).float()
    ctx = _qdq_network(FP8, 0.5, None, (x.numel(),))
    out = Executor(ctx.network)({"x": x})
    ref = _e4m3_reference(x.double() / 0.5)
    assert out["q"].dtype == FP8 and torch.equal(out["q"].double(), ref)
    assert torch.equal(out["dq"].double(), ref * 0.5)


def test_int8_network_matches_float64_simulated_quantization():
    """conv-bn-silu -> conv, INT8 on the CPU executor vs the same arithmetic in float64 (up to accumulation order)."""
    model = randomize(Residual())
    net, amax = defined(model)
    y = Executor(net.network)({"x": X})["output"].double()

    def fq(t, a):  # per-tensor fake quantization in float64, with the fp32 scale the network holds
        s = float(torch.tensor(a / 127, dtype=torch.float32))
        return torch.clamp(torch.round(t / s), -128, 127) * s

    def qconv(t, name, weight, bias, a, pad):
        s = const(net, f"{name}:weight_scale").double().reshape(-1, 1, 1, 1)
        w = torch.clamp(torch.round(weight / s), -128, 127) * s
        return TF.conv2d(fq(t, a), w, bias, padding=pad)

    def cba(t, m, name, a):
        bn = m.bn
        k = bn.weight.data.double() / (bn.running_var.double() + bn.eps).sqrt()
        w = m.conv.weight.data.double() * k.reshape(-1, 1, 1, 1)
        b = bn.bias.data.double() - bn.running_mean.double() * k
        return TF.silu(qconv(t, name, w, b, a, 1))

    x = X.double()
    c1 = cba(x, model.cv1, "cv1.conv + cv1.bn", amax["x"])
    c2 = cba(c1, model.cv2, "cv2.conv + cv2.bn", amax["cv1.act"])
    s = fq(c1, amax["cv1.act"]) + fq(c2, amax["cv2.act"])
    ref = qconv(s, "head", model.head.weight.data.double(), model.head.bias.data.double(), amax["add"], 0)
    assert (y - ref).abs().max() < 1e-4 * ref.abs().max()
    step = amax["add"] / 127  # one quantization step of the head's input would move outputs by far more
    assert (y - ref).abs().max() < step * 1e-2


# ---- real TensorRT-RTX builds ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["int8", "fp8"])
@pytest.mark.parametrize("base", ["fp16", "bf16", "fp32"])
def test_small_nets_build_with_tensorrt_rtx(dtype, base):
    for model in (Residual(), Concat()):
        net, _ = defined(randomize(model), dtype=dtype, base_dtype=base)
        assert net.quantized
        engine = trtnn.build_network(net)
        assert engine.nbytes > 0


class Up(nn.Module):
    def __init__(self):
        super().__init__()
        self.down, self.up = nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ConvTranspose2d(8, 4, 2, stride=2)

    def forward(self, x):
        return self.up(self.down(x))


def test_deconvolution_kernel_per_output_channel_and_builds():
    model = randomize(Up())
    net, amax = defined(model)
    up = layers(net)["up"]
    assert_qdq_input(net, up, 0, "down", amax["down"])
    wdq = producer(net, up.get_input(1))
    assert wdq.axis == 1 and const(net, "up:weight").dtype == torch.int8
    assert torch.allclose(const(net, "up:weight_scale"), model.up.weight.data.abs().amax((0, 2, 3)) / 127)
    ref = Executor(trtnn.define(model, IN, dtype="fp32").network)({"x": X})["output"]
    y = Executor(net.network)({"x": X})["output"]
    assert 10 * torch.log10(ref.pow(2).mean() / (y - ref).pow(2).mean()) > 30
    trtnn.build_network(net)


class Wide(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.act, self.c2 = nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(), nn.Conv2d(512, 512, 3, padding=1)

    def forward(self, x):
        return self.c2(self.act(self.c1(x)))


def test_weight_dominated_int8_plan_is_at_most_0_3x_the_fp32_plan():
    model = Wide()
    inputs = [trtnn.Input("x", (1, 512, 8, 8))]
    amax = {"x": 3.0, "act": 2.0}
    sizes = {dt: trtnn.build(model, inputs, dtype=dt).nbytes for dt in ("fp32", "fp16")}
    for dt in ("int8", "fp8"):
        sizes[dt] = trtnn.build(model, inputs, dtype=dt, calibration=amax).nbytes
    print("512x512x3x3 x2 plan bytes:", sizes)
    assert sizes["int8"] <= 0.3 * sizes["fp32"] and sizes["fp8"] <= 0.3 * sizes["fp32"]


def test_yolov8n_int8_and_fp8_engines_build_and_shrink_the_plan():
    from trtnn.models.yolo.model import yolov8
    torch.manual_seed(0)
    model = yolov8("n", nc=80)
    inputs = [trtnn.Input("images", (1, 3, 320, 320))]
    x = torch.rand(1, 3, 320, 320, generator=torch.Generator().manual_seed(0))
    amax = abs_max(model, inputs, {"images": x})
    sizes = {dt: trtnn.build(model, inputs, dtype=dt).nbytes for dt in ("fp32", "fp16")}
    for dt in ("int8", "fp8"):
        net = trtnn.define(model, inputs, dtype=dt, calibration=amax)
        convs = [n for n, k in _kinds(net).items() if k == "CONVOLUTION"]
        assert set(convs) <= set(net.quantized)  # every convolution runs quantized
        sizes[dt] = trtnn.build_network(net).nbytes
    print("yolov8n 320 plan bytes:", sizes, "int8/fp32 = %.3f" % (sizes["int8"] / sizes["fp32"]))
    # TensorRT-RTX plans carry ~3.5 MB of per-layer data besides the weights (see the report): INT8 weights are a
    # quarter of fp32's, the plan about 0.6x
    assert sizes["int8"] < 0.65 * sizes["fp32"] and sizes["int8"] < sizes["fp16"]
    assert sizes["fp8"] < 0.65 * sizes["fp32"]


def test_inspect_int8_shows_where_qdq_went(capsys):
    from trtnn import cli
    assert cli.main(["inspect", "yolov8n", "--random-weights", "--imgsz", "64", "--dtype", "int8"]) == 0
    out = capsys.readouterr().out
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("int8: 91 Q/DQ pairs (activations) on: cast_fp16, model.0.act, model.1.act")
    assert re.search(r"^model.0.act:quantize +QUANTIZE +1x16x32x32 +int8", out, re.M)  # the table lists them too
