"""trtnn.debug: module-by-module comparison with PyTorch, debug tensors, the `compare` CLI body."""
import argparse
import json

import numpy as np
import pytest
import torch

import trtnn
import trtnn.nn as tnn
from trtnn import debug


def _net_class(nn):
    """The same source builds the trtnn model (nn=trtnn.nn) and its PyTorch twin (nn=torch.nn)."""

    class Block(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(cout)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.bn(self.conv(x)))

    class Two(nn.Module):  # a module with a tuple output
        def forward(self, x):
            return x * 2, x + 1

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = Block(3, 8)
            self.b1 = Block(8, 8)
            self.b2 = Block(8, 8)
            self.shared = Block(8, 8)  # called twice
            self.two = Two()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(8, 5)

        def forward(self, x):
            y = self.stem(x)
            y = self.b1(y) + y  # residual add
            y = self.b2(y)
            y = self.shared(self.shared(y))
            a, b = self.two(y)
            return {"logits": self.fc(self.flatten(self.pool(a - b))), "feat": y}

    return Net


TrtNet, TorchNet = _net_class(tnn), _net_class(torch.nn)


def make_torch(seed=0):
    torch.manual_seed(seed)
    m = TorchNet().eval()
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):  # non-trivial folds
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    return m


def make_trt():
    m = TrtNet()
    m.load_state_dict(make_torch().state_dict())
    return m


def make_torch_other():
    return make_torch(seed=1)


def make_trt_blank():
    return TrtNet()


X = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
CALLS = ["stem.conv", "stem.bn", "stem.act", "stem", "b1.conv", "b1.bn", "b1.act", "b1", "b2.conv", "b2.bn",
         "b2.act", "b2", "shared.conv", "shared.bn", "shared.act", "shared", "shared.conv#1", "shared.bn#1",
         "shared.act#1", "shared#1", "two", "pool", "flatten", "fc", debug.ROOT]


def _corrupt(param):
    param.data = param.data * 1.5 + 0.1  # a new tensor: the loaded one shares memory with the torch model


def test_compare_passes_with_every_path_and_folded_convs(capsys):
    rep = debug.compare(make_trt(), make_torch(), X)
    assert [r.path for r in rep.rows] == CALLS
    assert rep.passed and rep.first_failure is None
    assert {r.path: r.note for r in rep.rows if r.status == "FOLDED"} == {
        "stem.conv": "folded into stem.bn", "b1.conv": "folded into b1.bn", "b2.conv": "folded into b2.bn",
        "shared.conv": "folded into shared.bn", "shared.conv#1": "folded into shared.bn#1"}
    assert rep.counts() == {"PASS": 20, "FAIL": 0, "SHAPE": 0, "MISSING": 0, "FOLDED": 5}
    assert rep.row("b2.bn").note == "includes folded b2.conv"
    assert rep.row("two").trt_shapes == rep.row("two").torch_shapes == [(1, 8, 16, 16)] * 2
    assert rep.row(debug.ROOT).trt_shapes == [(1, 5), (1, 8, 16, 16)]
    assert rep.row("shared#1").trt_shapes == [(1, 8, 16, 16)]
    assert all(r.max_rel < 1e-4 for r in rep.rows if r.status == "PASS")
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("PASS: 20 passed, 0 failed, 0 shape mismatches, 5 folded, 0 missing")
    assert ">>" not in out and "shared.conv#1" in out and "\033[" not in out
    d = rep.to_dict()
    assert d["passed"] is True and d["first_failure"] is None and len(d["rows"]) == len(CALLS)
    json.dumps(d)


def test_first_failure_is_the_corrupted_module():
    trt = make_trt()
    _corrupt(trt.b2.bn.weight)
    rep = debug.compare(trt, make_torch(), X, print_report=False)
    assert not rep.passed
    assert rep.first_failure.path == "b2.bn" and rep.first_failure.status == "FAIL"
    assert rep.first_failure.max_rel > 0.05
    k = CALLS.index("b2.bn")
    assert [r.status for r in rep.rows[:k]] == ["FOLDED", "PASS", "PASS", "PASS"] * 2 + ["FOLDED"]
    assert all(r.status == "FAIL" for r in rep.rows[k:] if r.path not in ("shared.conv", "shared.conv#1"))
    text = str(rep)
    marked = [line for line in text.splitlines() if line.startswith(">>")]
    assert len(marked) == 1 and marked[0].split()[1:3] == ["b2.bn", "FAIL"]
    assert text.splitlines()[-1].startswith("FAIL: ") and text.endswith("first failure: b2.bn")
    assert "\033[1m>>  b2.bn" in rep.format(color=True)


def test_unfolded_conv_is_compared_and_can_be_the_first_failure():
    trt = make_trt()
    _corrupt(trt.b1.conv.weight)
    rep = debug.compare(trt, make_torch(), X, fold_bn=False, print_report=False)
    assert rep.counts()["FOLDED"] == 0
    assert rep.first_failure.path == "b1.conv"
    assert [r.status for r in rep.rows[:4]] == ["PASS"] * 4


def test_fp16_uses_looser_default_tolerance():
    rep = debug.compare(make_trt(), make_torch(), X, dtype="fp16", print_report=False)
    assert rep.passed and (rep.dtype, rep.rtol) == ("fp16", 1e-2)
    assert 0 < rep.row("b2.bn").max_rel < 1e-2  # fp16 rounding is visible, and within tolerance


def test_shape_mismatch():
    trt = tnn.Sequential(tnn.Conv2d(3, 4, 3, padding=0), tnn.ReLU())
    ref = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU())
    trt.load_state_dict(ref.state_dict())
    rep = debug.compare(trt, ref, X, print_report=False)
    assert [(r.path, r.status) for r in rep.rows] == [("0", "SHAPE"), ("1", "SHAPE"), (debug.ROOT, "SHAPE")]
    assert rep.row("0").trt_shapes == [(1, 4, 14, 14)] and rep.row("0").torch_shapes == [(1, 4, 16, 16)]
    assert rep.first_failure.path == "0" and "1 failed" not in rep.summary() and "3 shape mismatches" in rep.summary()


def test_missing_module_calls_are_reported_not_failed():
    trt = tnn.Sequential(tnn.Conv2d(3, 4, 1), tnn.ReLU())
    ref = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.ReLU(), torch.nn.Identity())
    trt.load_state_dict(ref.state_dict())
    rep = debug.compare(trt, ref, X, print_report=False)
    assert rep.passed and rep.row("2").status == "MISSING" and rep.counts()["PASS"] == 3


def test_module_paths_and_mark_debug():
    net = trtnn.define(make_trt(), [trtnn.Input("x", (1, 3, 16, 16))])
    paths = debug.module_paths(net)
    assert list(paths) == CALLS[:-1]
    assert paths["b2.conv"] == [] and paths["b2.bn"] == ["b2.bn"] and paths["shared"] == ["shared.act"]
    assert paths["two"] == ["two:0", "two:1"] and paths["shared#1"] == paths["shared.act#1"] == ["feat"]
    marked = debug.mark_debug(net, ["b2.bn", "shared", "two"])
    assert marked == ["b2.bn", "shared.act", "two:0", "two:1"]
    layers = [net.network.get_layer(i) for i in range(net.network.num_layers)]
    tensors = {t.name: t for t in (layer.get_output(j) for layer in layers for j in range(layer.num_outputs))}
    assert [n for n, t in tensors.items() if net.network.is_debug_tensor(t)] == marked
    with pytest.raises(trtnn.TrtnnError, match="folded into BatchNorm 'b2.bn'"):
        debug.mark_debug(net, ["b2.conv"])
    with pytest.raises(trtnn.TrtnnError, match="not a module path"):
        debug.mark_debug(net, ["nope"])


def test_module_outputs_follow_network_output_renames():
    inputs = [trtnn.Input("x", (1, 3, 16, 16))]
    net = trtnn.define(make_trt(), inputs)
    assert net.module_outputs["fc"] == ["logits"] and net.module_outputs["shared#1"] == ["feat"]
    assert debug.module_paths(net)["fc"] == ["logits"]
    assert trtnn.define(make_trt(), inputs, debug_outputs=["b2.bn"]).outputs[-1].name == "b2.bn"
    with pytest.raises(trtnn.TrtnnError, match="its BatchNorm 'b2.bn' was folded into it"):
        trtnn.define(make_trt(), inputs, debug_outputs=["b2.conv"])


def _cli(*argv):
    from trtnn.cli.commands import compare as compare_command

    parser = argparse.ArgumentParser(prog="trtnn")
    compare_command.add_parser(parser.add_subparsers(dest="command"), [])
    args = parser.parse_args(["compare", *argv])
    return args.func(args)


def test_cli_compare(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert _cli("test_debug:make_trt", "test_debug:make_torch", "--input", "x:1x3x16x16", "--json", str(out)) == 0
    data = json.loads(out.read_text())
    assert data["passed"] is True and data["inputs"] == {"x": [1, 3, 16, 16]} and data["counts"]["FOLDED"] == 5
    assert data["trt_target"] == "test_debug:make_trt" and [r["path"] for r in data["rows"]] == CALLS
    assert capsys.readouterr().out.splitlines()[-1].startswith("PASS")

    # different weights fail (--own-weights keeps them); by default the torch weights are copied into the trtnn
    # model, and --weights loads the same checkpoint into both
    assert _cli("test_debug:make_trt", "test_debug:make_torch_other", "--input", "x:1x3x16x16", "--own-weights") == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("FAIL")
    assert _cli("test_debug:make_trt", "test_debug:make_torch_other", "--input", "x:1x3x16x16") == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("PASS")
    ckpt = tmp_path / "w.pt"
    torch.save(make_torch(seed=3).state_dict(), ckpt)
    assert _cli("test_debug:make_trt_blank", "test_debug:make_torch_other", "--input", "x:1x3x16x16",
                "--weights", str(ckpt), "--dtype", "fp16", "--json", str(out)) == 0
    assert json.loads(out.read_text())["dtype"] == "fp16"


def test_cli_input_file_and_bad_target(tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, (X * 1000).numpy())  # large values: rtol holds, so the file must really be used
    out = tmp_path / "r.json"
    assert _cli("test_debug:make_trt", "test_debug:make_torch", "--input-file", str(x), "--json", str(out)) == 0
    rows = {r["path"]: r for r in json.loads(out.read_text())["rows"]}
    assert json.loads(out.read_text())["inputs"] == {"x": [1, 3, 16, 16]} and rows["stem.bn"]["max_abs"] > 1e-4
    with pytest.raises(trtnn.InputError, match="does not fit|file has shape"):
        _cli("test_debug:make_trt", "test_debug:make_torch", "--input", "x:1x3x8x8", "--input-file", str(x))
    with pytest.raises(trtnn.ConfigError, match="pkg.module:factory"):
        _cli("test_debug.make_trt", "test_debug:make_torch", "--input", "x:1x3x16x16")
    with pytest.raises(trtnn.ConfigError, match="has no attribute"):
        _cli("test_debug:nope", "test_debug:make_torch", "--input", "x:1x3x16x16")
