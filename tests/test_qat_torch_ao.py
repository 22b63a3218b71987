"""QAT import from torch.ao (part of torch, so in CI): eager unfused, eager fused (`fuse_modules_qat`) and FX
(`prepare_qat_fx`) QAT models, trained a few steps, against trtnn's INT8 network on the CPU executor: the same
scales as torch's fake quantizers and the same output (SQNR >= 40 dB against the torch model's fake-quant output)."""
import logging

import pytest
import torch
import torch.ao.quantization as tq
import torch.nn as tnn
from torch.ao.nn.quantized import FloatFunctional

import trtnn
import trtnn.functional as F
import trtnn.nn as nn
from trtnn.quant import QATRanges, from_qat
from trtnn.reference import Executor

IN = [trtnn.Input("x", (2, 3, 16, 16))]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


# ---- the torch QAT models and their trtnn translation -------------------------------------------------------------
class Eager(tnn.Module):
    """conv-bn-relu, conv-bn, residual add, concat, pooling, linear; stubs and FloatFunctional as torch.ao wants."""

    def __init__(self):
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.conv, self.bn, self.relu = tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8), tnn.ReLU()
        self.conv2, self.bn2 = tnn.Conv2d(8, 8, 3, padding=1, bias=False), tnn.BatchNorm2d(8)
        self.add, self.cat, self.mul = FloatFunctional(), FloatFunctional(), FloatFunctional()
        self.pool, self.fc = tnn.AdaptiveAvgPool2d(1), tnn.Linear(16, 5)

    def forward(self, x):
        x = self.quant(x)
        y = self.relu(self.bn(self.conv(x)))
        z = self.add.add(self.bn2(self.conv2(y)), y)
        z = self.mul.mul(self.cat.cat([z, y], 1), self.cat.cat([z, z], 1))
        return self.dequant(self.fc(torch.flatten(self.pool(z), 1)))


class Fx(tnn.Module):
    """The same network written plainly, as FX QAT takes it."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.relu = tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8), tnn.ReLU()
        self.conv2, self.bn2 = tnn.Conv2d(8, 8, 3, padding=1, bias=False), tnn.BatchNorm2d(8)
        self.pool, self.fc = tnn.AdaptiveAvgPool2d(1), tnn.Linear(16, 5)

    def forward(self, x):
        y = self.relu(self.bn(self.conv(x)))
        z = self.bn2(self.conv2(y)) + y
        z = torch.cat([z, y], 1) * torch.cat([z, z], 1)
        return self.fc(torch.flatten(self.pool(z), 1))


class Net(nn.Module):
    """The trtnn translation, line by line (no stubs: quantizers are found by where they sit)."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.relu = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()
        self.conv2, self.bn2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(16, 5)

    def forward(self, x):
        y = self.relu(self.bn(self.conv(x)))
        z = self.bn2(self.conv2(y)) + y
        z = F.cat([z, y], 1) * F.cat([z, z], 1)
        return self.fc(self.pool(z).flatten(1))


SYMMETRIC = tq.QConfig(  # what TensorRT runs natively: signed symmetric activations, per-channel symmetric weights
    activation=tq.FakeQuantize.with_args(observer=tq.MovingAverageMinMaxObserver, quant_min=-128, quant_max=127,
                                         dtype=torch.qint8, qscheme=torch.per_tensor_symmetric),
    weight=tq.default_per_channel_weight_fake_quant)


def qconfig(name):
    return SYMMETRIC if name == "symmetric" else tq.get_default_qat_qconfig(name)


def train(model, steps=20, seed=0):
    """A few QAT steps on noise (observers and BN statistics move, weights change), then frozen for inference."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    model.train()
    for _ in range(steps):
        x = torch.randn(4, 3, 16, 16, generator=g)
        loss = model(x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.apply(tq.disable_observer)
    return model.eval()


def eager(config, fused):
    torch.manual_seed(1)
    m = Eager()
    m.qconfig = qconfig(config)
    if fused:
        m.train()
        tq.fuse_modules_qat(m, [["conv", "bn", "relu"], ["conv2", "bn2"]], inplace=True)
    return train(tq.prepare_qat(m.train()))


def fx(config):
    from torch.ao.quantization.quantize_fx import prepare_qat_fx
    torch.manual_seed(1)
    mapping = tq.QConfigMapping().set_global(qconfig(config))
    return train(prepare_qat_fx(Fx().train(), mapping, (torch.randn(2, 3, 16, 16),)))


def sqnr(ref, out):
    return float(10 * torch.log10(ref.double().square().sum() / (ref.double() - out.double()).square().sum()))


def compare(qat, ranges_check=True, **kw):
    """(SQNR of trtnn's INT8 network vs the torch fake-quant model, ranges, network) on fresh data."""
    model = Net()
    state, ranges = from_qat(qat, model, IN, **kw)
    net = trtnn.define(model, IN, dtype="int8", calibration=ranges, fold_bn=ranges.fold_bn, base_dtype="fp32")
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        ref = qat(x)
    out = Executor(net.network)({"x": x})[net.outputs[0].name]
    return sqnr(ref, out), ranges, net


def scales(net):
    """Q/DQ scale constants of the network: layer name -> tensor."""
    import numpy as np
    out = {}
    for i in range(net.network.num_layers):
        layer = net.network.get_layer(i)
        if layer.name.endswith("scale"):
            layer.__class__ = net.ctx.trt.IConstantLayer
            out[layer.name] = torch.from_numpy(np.array(layer.weights).copy()).double()
    return out


def assert_scales_equal(ranges, net, qat):
    """Every torch quantizer's scale is the engine's (activations: exactly the trained grid)."""
    got = scales(net)
    mods = dict(qat.named_modules())
    for site in ranges.sites:
        torch_scale = mods[site.key].scale.double().flatten()
        if site.site.endswith(":weight"):
            layer = next(n for n in got if n.startswith(site.site[:-len(":weight")]) and n.endswith(":weight_scale"))
        else:
            layer = next(n for n in got if n.endswith(":scale") and n[:-len(":scale")] == site.site)
        assert torch.allclose(got[layer].flatten(), torch_scale, rtol=1e-6), (site.key, layer)


# ---- the tests ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("config", ["symmetric", "x86"])
def test_eager_unfused_qat_reproduced(config):
    qat = eager(config, fused=False)
    db, ranges, net = compare(qat)
    assert db >= 40, ranges.table()
    assert ranges.fold_bn is False  # torch.ao observes each convolution's output before its BatchNorm
    assert all(s.exact for s in ranges.sites), ranges.table()
    keys = {s.key for s in ranges.sites}
    assert {"quant.activation_post_process", "conv.activation_post_process", "bn.activation_post_process",
            "add.activation_post_process", "cat.activation_post_process", "fc.weight_fake_quant",
            "fc.activation_post_process"} <= keys
    assert_scales_equal(ranges, net, qat)


@pytest.mark.parametrize("config", ["symmetric", "x86"])
def test_eager_fused_qat_reproduced(config):
    qat = eager(config, fused=True)
    db, ranges, net = compare(qat)
    assert db >= 40, ranges.table()
    assert ranges.fold_bn and ranges.folded_weights == {"conv", "conv2"}
    assert all(s.exact for s in ranges.sites), ranges.table()
    assert_scales_equal(ranges, net, qat)
    # the fused ConvBnReLU's quantizer sits after the ReLU, the network output is quantized as torch's was
    sites = {s.key: s.site for s in ranges.sites}
    assert sites["conv.activation_post_process"] == "relu"
    assert net.outputs[0].name == "output" and "output:float" in {net.network.get_layer(i).get_output(0).name
                                                                  for i in range(net.network.num_layers)}


def test_fx_qat_reproduced():
    qat = fx("x86")  # (FX's native backend config takes quint8 activations only: a qint8 qconfig is not applied)
    db, ranges, net = compare(qat)
    assert db >= 40, ranges.table()
    assert all(s.exact for s in ranges.sites), ranges.table()
    assert_scales_equal(ranges, net, qat)
    assert len([s for s in ranges.sites if not s.site.endswith(":weight")]) >= 8  # every op output FX observes


def test_unsigned_255_ranges_warn_with_the_tensor_and_the_error(caplog):
    qat = eager("qnnpack", fused=True)  # quint8 [0, 255]: no symmetric INT8 grid holds it
    with caplog.at_level(logging.WARNING, logger="trtnn.quant"):
        db, ranges, net = compare(qat)
    inexact = [s for s in ranges.sites if not s.exact]
    assert inexact and "has 256 levels" in inexact[0].error
    assert "quant.activation_post_process" in caplog.text and "2.0079x" in caplog.text
    assert 15 < db < 40  # nearest symmetric ranges, up to one bit coarser: measured 23.6 dB (exact ones: >= 40)


def test_fused_state_dict_alone_loads_and_maps_by_module_path():
    qat = eager("symmetric", fused=True)
    model = Net()
    sd = {k: v for k, v in qat.state_dict().items() if not k.startswith(("quant.", "add.", "cat.", "mul."))}
    state, ranges = from_qat(sd, model, IN)
    assert "bn.running_var" in state and "conv.bn.running_var" not in state
    assert torch.equal(model.bn.running_var.data, qat.conv.bn.running_var)
    assert ranges.fused_relu == {"conv"} and ranges.folded_weights == {"conv", "conv2"}


def test_a_quantizer_that_matches_nothing_is_refused_or_listed(caplog):
    class Other(Net):
        def forward(self, x):
            y = self.relu(self.bn(self.conv(x)))
            z = self.bn2(self.conv2(y)) + y
            return self.fc(self.pool(F.cat([z, y], 1) + F.cat([z, z], 1)).flatten(1))  # + for *

    qat = eager("symmetric", fused=True)
    with pytest.raises(trtnn.ConfigError, match=r"activation quantizer\(s\) of the torch model match no tensor.*"
                                                r"'mul.activation_post_process' \(input \(2, 16, 16, 16\)\)"):
        from_qat(qat, Other(), IN)
    with caplog.at_level(logging.WARNING, logger="trtnn.quant"):
        from_qat(qat, Other(), IN, strict=False)
    assert "left out (strict=False)" in caplog.text
