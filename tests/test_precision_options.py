"""trtnn.Precision: one options object for define/build/precision_report, equal to today's keyword arguments."""
import pytest
import torch

import trtnn
import trtnn.nn as nn
from trtnn import ConfigError, Precision
from trtnn.reference import Executor

X = [trtnn.Input("x", (1, 3, 8, 8))]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.act = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.head(self.act(self.bn(self.conv(x))))


def net():
    torch.manual_seed(0)
    m = Net()
    m.load_state_dict({k: torch.rand_like(v) + 0.5 if k.endswith("running_var") else torch.randn_like(v)
                       if v.is_floating_point() else v for k, v in m.state_dict().items()})
    return m


def layers(network):
    """(name, type, output dtypes) of every layer: what makes two definitions the same network."""
    out = []
    for i in range(network.network.num_layers):
        la = network.network.get_layer(i)
        out.append((la.name, la.type.name,
                    tuple(la.get_output(j).dtype.name for j in range(la.num_outputs))))
    return out


def amax_of(model):
    fp32 = trtnn.define(model, X, dtype="fp32")
    ls = [fp32.network.get_layer(i) for i in range(fp32.network.num_layers)]
    return {la.get_output(j).name: 3.0 for la in ls for j in range(la.num_outputs)} | {"x": 2.0}


@pytest.mark.parametrize("options", [
    dict(dtype="fp16"),
    dict(dtype="fp16", keep_fp32=["head"], fold_bn=False),
    dict(dtype="int8", exclude=["head"], base_dtype="fp32"),
    dict(dtype="fp8", keep_fp16=["act"]),
])
def test_precision_object_and_keywords_give_the_same_network(options):
    model = net()
    if options["dtype"] in ("int8", "fp8"):
        options = dict(options, calibration=amax_of(model))
    by_keywords = trtnn.define(model, X, **options)
    by_object = trtnn.define(model, X, precision=Precision(**options))
    by_name = trtnn.define(model, X, options.pop("dtype"), **options)
    assert layers(by_object) == layers(by_keywords) == layers(by_name)
    assert by_object.quantized == by_keywords.quantized
    assert by_object.precision == by_keywords.precision == by_name.precision
    x = torch.randn(1, 3, 8, 8)
    a, b = Executor(by_keywords)({"x": x})["output"], Executor(by_object)({"x": x})["output"]
    assert torch.equal(a, b)


def test_build_takes_the_precision_object():
    model = net()
    engine = trtnn.build(model, X, precision=Precision("fp16", keep_fp32=["head"]), progress=False)
    same = trtnn.build(model, X, dtype="fp16", keep_fp32=["head"], progress=False)
    assert engine.outputs == same.outputs and engine.outputs[0].dtype == torch.float32


def test_precision_report_takes_the_precision_object():
    model = net()
    data = [{"x": torch.randn(1, 3, 8, 8)} for _ in range(2)]
    a = trtnn.debug.precision_report(model, X, data, Precision("fp16", keep_fp32=["head"]))
    b = trtnn.debug.precision_report(model, X, data, "fp16", keep_fp32=["head"])
    assert [(r.path, r.sqnr) for r in a.rows] == [(r.path, r.sqnr) for r in b.rows] and a.dtype == b.dtype == "fp16"


def test_precision_fields_and_refusals():
    p = Precision("int8", calibration={"x": 1.0}, exclude=["head"])
    assert p.quantized and p.format == torch.int8 and p.exclude == ("head",) and p.label == "int8 (rest fp16)"
    assert p.replace(dtype="fp16", calibration=None, exclude=()).label == "fp16"
    with pytest.raises(ConfigError, match=r"give either precision= or keep_fp32=, not both"):
        trtnn.define(net(), X, precision=Precision("fp16"), keep_fp32=["head"])
    with pytest.raises(TypeError, match="unexpected keyword argument 'keep_fp23'"):
        trtnn.define(net(), X, keep_fp23=["head"])
    with pytest.raises(TypeError, match="multiple values for dtype"):
        trtnn.build(net(), X, "fp16", dtype="fp32")
    with pytest.raises(ConfigError, match=r"keep_fp32 must be a list .* got the string 'head' \(write keep_fp32=\['head'\]\)"):
        Precision("fp16", keep_fp32="head")
    with pytest.raises(ConfigError, match="precision must be a trtnn.Precision or a dtype name, got int"):
        trtnn.define(net(), X, precision=16)
    with pytest.raises(ConfigError, match="calibration= and exclude= are for dtype='int8' or 'fp8'"):
        trtnn.define(net(), X, Precision("fp16", exclude=["head"]))
    with pytest.raises(ConfigError, match="needs calibration="):
        trtnn.define(net(), X, Precision("int8"))
