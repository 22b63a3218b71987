"""QAT import from NVIDIA ModelOpt: state_dicts made by `mtq.quantize` (INT8_DEFAULT_CFG and FP8_DEFAULT_CFG, then a
few QAT steps) with tools/make_modelopt_qat.py, committed in tests/data with ModelOpt's own fake-quant output. trtnn's
INT8/FP8 network on the CPU executor reproduces that output (SQNR >= 40 dB), with every quantizer placed (pooling
inputs included) at exactly ModelOpt's amax."""
import os

import pytest
import torch

import trtnn
import trtnn.functional as F
import trtnn.nn as nn
from trtnn.quant import from_qat, qat_calibration
from trtnn.reference import Executor

DATA = os.path.join(os.path.dirname(__file__), "data")
IN = [trtnn.Input("x", (2, 3, 16, 16))]


class Small(nn.Module):
    """tools/make_modelopt_qat.py's network, translated line by line."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1, self.act1 = nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU()
        self.conv2, self.bn2 = nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(32, 16, 1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y = self.act1(self.bn1(self.conv1(x)))
        z = self.bn2(self.conv2(y)) + y
        z = self.pool(F.cat([z, y], 1))
        return self.fc(self.gap(self.conv3(z)).flatten(1))


def sqnr(ref, out):
    return float(10 * torch.log10(ref.double().square().sum() / (ref.double() - out.double()).square().sum()))


def _consts(net):
    import numpy as np
    out = {}
    for i in range(net.network.num_layers):
        layer = net.network.get_layer(i)
        if layer.type.name == "CONSTANT" and "scale" in layer.name:
            layer.__class__ = net.ctx.trt.IConstantLayer
            out[layer.name] = torch.from_numpy(np.array(layer.weights).copy()).double().flatten()
    return out


@pytest.mark.parametrize("fmt,qmax", [("int8", 127.0), ("fp8", 448.0)])
def test_modelopt_checkpoint_reproduced(fmt, qmax):
    saved = torch.load(os.path.join(DATA, f"modelopt_qat_{fmt}.pt"), weights_only=True)
    sd = saved["state_dict"]
    model = Small()
    state, ranges = from_qat(sd, model, IN)
    amax = {k: v for k, v in sd.items() if k.endswith("_amax")}
    assert len(ranges.sites) == len(amax) == 10  # 6 inputs (both poolings too) and 4 weights: every one placed
    assert {"pool:input", "gap:input", "fc:input", "fc:weight"} <= {s.site for s in ranges.sites}
    net = trtnn.define(model, IN, dtype=fmt, calibration=ranges, base_dtype="fp32")
    out = Executor(net.network)({"x": saved["x"]})[net.outputs[0].name]
    db = sqnr(saved["y"], out)
    assert db >= 40, (fmt, db)
    scales = _consts(net)
    for key, value in amax.items():  # activations: exactly ModelOpt's amax / qmax
        path, which = key[: -len("._amax")].rsplit(".", 1)
        if which == "input_quantizer":
            assert float(scales[f"{path}:input:scale"]) == pytest.approx(float(value) / qmax, rel=1e-6), key
    assert torch.allclose(scales["fc:linear:weight_scale"], sd["fc.weight_quantizer._amax"].double().flatten()
                          .expand(10) / qmax, rtol=1e-6)


def test_qat_calibration_gives_activation_ranges_only():
    sd = torch.load(os.path.join(DATA, "modelopt_qat_int8.pt"), weights_only=True)["state_dict"]
    ranges = qat_calibration(sd)
    assert set(ranges.amax) == {"conv1:input", "conv2:input", "pool:input", "conv3:input", "gap:input", "fc:input"}
    assert set(ranges.weight_amax) == {"conv1", "conv2", "conv3", "fc"}


def test_a_modelopt_quantizer_the_model_lacks_is_refused():
    sd = dict(torch.load(os.path.join(DATA, "modelopt_qat_int8.pt"), weights_only=True)["state_dict"])
    sd["head.input_quantizer._amax"] = torch.tensor(2.0)
    with pytest.raises(trtnn.ConfigError, match=r"1 quantizer\(s\) of the checkpoint cannot be placed in this network: "
                                                r"head:input: no layer of that module"):
        from_qat(sd, Small(), IN)
