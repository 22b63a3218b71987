"""trtnn.debug.precision_report and `trtnn precision`: SQNR against a hand computation, fp16 overflow and underflow
named by module path, the automatic keep_fp32 search, INT8, the CLI, and the real YOLOv8n checkpoint."""
import json
import math
import os

import numpy as np
import pytest
import torch

from harness import run_cli
import trtnn
import trtnn.nn as nn
from trtnn.debug.measure import sqnr_db

X = [trtnn.Input("x", (1, 3, 8, 8))]


class Gain(nn.Module):
    def __init__(self, gain):
        super().__init__()
        self.gain = gain

    def forward(self, x):
        return x * self.gain


class Block(nn.Module):
    """x * 1e5 (beyond fp16's 65504 for |x| > 0.655), a 1x1 convolution, * 1e-5: harmless in fp32 only."""

    def __init__(self):
        super().__init__()
        self.up, self.conv, self.down = Gain(1e5), nn.Conv2d(3, 3, 1), Gain(1e-5)

    def forward(self, x):
        return self.down(self.conv(self.up(x)))


class OverflowNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.block, self.act, self.head = Block(), nn.ReLU(), nn.Conv2d(3, 2, 1)

    def forward(self, x):
        return self.head(self.act(self.block(x)))


def overflow_net():
    torch.manual_seed(0)
    m = OverflowNet()
    m.load_state_dict({k: torch.randn_like(v) for k, v in m.state_dict().items()})
    return m


def half_big():
    """Two batches: half the values +-1.0 (overflow after * 1e5), half +-0.25 (1e5 * 0.25 = 25000 fits)."""
    x = torch.full((1, 3, 8, 8), 0.25)
    x[..., :4] = 1.0
    return [{"x": x}, {"x": -x}]


def test_fp16_overflow_is_named_by_module_path():
    report = trtnn.debug.precision_report(overflow_net(), X, half_big(), "fp16")
    up = report.row("block.up")
    assert up.overflow == 0.5 and up.sqnr == -math.inf and up.dtype == "fp16"
    assert up.input_sqnr == math.inf and up.drop == math.inf  # introduced here: its input is the exact network input
    assert report.row("block.conv").overflow > 0
    assert report.row("head").overflow == 0 and report.row("head").drop == 0.0  # inherited
    assert [r.path for r in report.overflows][:2] == ["block.up", "block.conv"]
    assert report.output_sqnr == -math.inf
    text = report.format()
    assert "overflow: block.up (0.5), block.conv" in text
    assert text.splitlines()[0].split() == ["module", "dtype", "shape", "SQNR", "dB", "in", "SQNR", "dB", "drop",
                                            "dB", "max", "rel", "overflow", "underflow"]
    json.dumps(report.to_dict())  # inf and nan as strings


class Act(nn.Module):
    def __init__(self):
        super().__init__()
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(x)


def test_sqnr_and_max_rel_match_a_hand_computation():
    """fp16 rounds 1 + 2^-11 to 1 (a tie, to even) and 2 + 2^-11 to 2 (ulp 2^-9): error 2^-11 on every value; the
    SQNR sums signal and error powers over both batches (70.2 dB; the batches alone give 66.2 and 72.2 dB)."""
    a, b = 1 + 2.0 ** -11, 2 + 2.0 ** -11
    data = [{"x": torch.full((1, 3, 8, 8), a)}, {"x": torch.full((1, 3, 8, 8), b)}]
    report = trtnn.debug.precision_report(Act(), X, data, "fp16")
    n = 3 * 8 * 8
    want = 10 * math.log10((n * a * a + n * b * b) / (2 * n * 2.0 ** -22))
    row = report.row("act")
    assert row.sqnr == pytest.approx(want, abs=1e-9) and 70.1 < want < 70.3
    assert row.max_rel == pytest.approx(2.0 ** -11 / b, rel=1e-12)
    assert report.output_sqnr == pytest.approx(want, abs=1e-9) and report.batches == 2
    assert row.overflow == row.underflow == 0
    assert sqnr_db(1.0, 0.0) == math.inf and sqnr_db(0.0, 1.0) == -math.inf and sqnr_db(100.0, 1.0) == 20.0


def test_bf16_rounds_differently():
    data = [{"x": torch.full((1, 3, 8, 8), 1 + 2.0 ** -8)}]  # a tie in bf16 (8 bits): rounds to 1
    row = trtnn.debug.precision_report(Act(), X, data, "bf16").row("act")
    assert row.dtype == "bf16" and row.sqnr == pytest.approx(20 * math.log10((1 + 2.0 ** -8) * 2 ** 8), abs=1e-9)


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.tiny, self.act = Gain(1e-9), nn.ReLU()

    def forward(self, x):
        return self.act(self.tiny(x))


def test_fp16_underflow_is_named_with_its_fraction():
    x = torch.ones(1, 3, 8, 8)
    x[..., :2] = 1e3  # 1e-6 is a normal fp16 number; 1e-9 is below the smallest subnormal (5.96e-8)
    report = trtnn.debug.precision_report(Tiny(), X, [{"x": x}], "fp16")
    assert report.row("tiny").underflow == 0.75 and report.row("act").underflow == 0.75
    assert [r.path for r in report.underflows] == ["tiny", "act"]  # the output is fp32 again
    assert "underflow: tiny (0.75), act (0.75)" in report.format()


def test_auto_mode_keeps_the_overflowing_block_and_that_fixes_it():
    model, data = overflow_net(), half_big()
    auto = trtnn.debug.precision_report(model, X, data, "fp16", target_sqnr=40, strategy="greedy")
    # block.up first; its output is still handed on in fp16 (cast at the module boundary): then its parent
    assert [r["keep_fp32"] for r in auto.rounds] == [[], ["block.up"], ["block"]]
    assert auto.keep_fp32 == ["block"] and auto.met and auto.output_sqnr > 40 and not auto.overflows
    after = trtnn.debug.precision_report(model, X, data, "fp16", keep_fp32=auto.keep_fp32)
    assert after.output_sqnr == auto.output_sqnr and not after.overflows and after.row("block.up").dtype == "fp32"
    assert "target SQNR >= 40 dB met; keep_fp32 ['block']" in auto.summary()


def test_auto_mode_with_a_metric_callback():
    seen = []

    def finite(ref, out):
        seen.append((sorted(ref[0]), sorted(out[0]), len(ref), len(out)))
        return float(all(bool(torch.isfinite(o["output"]).all()) for o in out))

    auto = trtnn.debug.precision_report(overflow_net(), X, half_big(), "fp16", metric=finite, target=1.0,
                                        strategy="greedy")
    assert seen[0] == (["output"], ["output"], 2, 2)
    assert auto.keep_fp32 == ["block"] and auto.metric == 1.0 and auto.met and len(seen) == 3


def test_auto_mode_stops_when_nothing_is_left_to_keep():
    auto = trtnn.debug.precision_report(Act(), X, [{"x": torch.full((1, 3, 8, 8), 1 + 2.0 ** -11)}], "fp16",
                                        target_sqnr=500, max_rounds=3, strategy="greedy")
    assert auto.met is False and auto.keep_fp32 == ["act"]  # the input cast is not a module: 66 dB at best
    assert [r["keep_fp32"] for r in auto.rounds] == [[], ["act"]]


def test_auto_mode_does_not_keep_modules_inside_kept_ones():
    """Inputs that fp16 rounds: the modules inside the kept block still show that error, but keeping them is moot."""
    data = [{"x": d["x"] * (1 + 2.0 ** -12)} for d in half_big()]
    auto = trtnn.debug.precision_report(overflow_net(), X, data, "fp16", target_sqnr=500, max_rounds=4,
                                        strategy="greedy")
    kept = [r["keep_fp32"] for r in auto.rounds]
    assert kept[:3] == [[], ["block.up"], ["block"]] and len(kept) == 5 and auto.met is False
    assert all(k == "block" or not k.startswith("block.") for ks in kept[2:] for k in ks), kept


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1, self.act = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()
        self.conv2 = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x):
        return self.conv2(self.act(self.bn1(self.conv1(x))))


def conv_net():
    torch.manual_seed(1)
    m = ConvNet()
    m.load_state_dict({k: v if not v.is_floating_point() else torch.rand_like(v) + 0.5 if k.endswith("running_var")
                       else torch.randn_like(v) for k, v in m.state_dict().items()})
    return m


def random_data(n=3, shape=(1, 3, 8, 8)):
    g = torch.Generator().manual_seed(0)
    return [{"x": torch.randn(shape, generator=g)} for _ in range(n)]


def test_int8_report_on_a_small_conv_net():
    model, data = conv_net(), random_data()
    q = trtnn.debug.precision_report(model, X, data, "int8", method="minmax")
    half = trtnn.debug.precision_report(model, X, data, "fp16")
    assert q.dtype == "int8 (rest fp16)"
    for path in ("bn1", "act", "conv2"):  # conv1 is folded into bn1
        assert 15 < q.row(path).sqnr < 45 < half.row(path).sqnr, path  # 8 bits lose far more than fp16
    assert q.row("bn1").input_sqnr == math.inf and q.row("conv2").input_sqnr == q.row("act").sqnr
    cal = trtnn.quant.calibrate(model, X, data, "minmax", progress=False)
    given = trtnn.debug.precision_report(model, X, data, "int8", calibration=cal)
    assert [r.sqnr for r in given.rows] == [r.sqnr for r in q.rows]
    kept = trtnn.debug.precision_report(model, X, data, "int8", calibration=cal, keep_fp32=["conv2"])
    assert kept.row("conv2").drop < 0.5 < 2 < q.row("conv2").drop  # no Q/DQ in front of conv2 any more
    assert [r.path for r in q.worst(2)] == [r.path for r in sorted(q.rows[:-1], key=lambda r: r.sqnr)[:2]]


# ---- CLI --------------------------------------------------------------------------------------------------------
USER = ["test_precision:overflow_net", "--input", "x:1x3x8x8"]


def test_cli_report_prints_the_worst_modules_and_writes_json(npy, tmp_path, capsys):
    out_json = tmp_path / "r.json"
    code, out, err = run_cli(capsys, "precision", *USER, "--dtype", "fp16", "--calib-data", npy, "--images", "3",
                         "--top", "2", "--json", out_json)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("module") and "SQNR dB" in lines[0]
    assert [ln.split()[0] for ln in lines[1:3]] == ["block.up", "block.conv"]  # -inf, in execution order
    assert lines[3].startswith("overflow: block.up (0.5)")
    assert lines[4].startswith("fp16 vs fp32 over 3 batch(es): output SQNR -inf dB; 2 module(s) overflow")
    doc = json.loads(out_json.read_text())
    assert doc["model"] == USER[0] and doc["dtype"] == "fp16" and doc["batches"] == 3
    assert doc["overflow"] == ["block.up", "block.conv"] and doc["rows"][0]["sqnr_db"] == "-inf"
    assert doc["inputs"] == [[1, 3, 8, 8]] and doc["met"] is None


def test_cli_auto_mode_prints_the_keep_fp32_flags(npy, capsys):
    code, out, err = run_cli(capsys, "precision", *USER, "--dtype", "fp16", "--calib-data", npy, "--target-sqnr", "40",
                         "--strategy", "greedy")
    assert code == 0, err
    assert out.splitlines()[-1] == "keep in fp32 (3 round(s)): --keep-fp32 block"
    code, out, _ = run_cli(capsys, "precision", *USER, "--dtype", "fp16", "--calib-data", npy, "--target-sqnr", "40",
                       "--max-rounds", "1", "--strategy", "greedy")
    assert code == 1 and "target SQNR >= 40 dB NOT met" in out
    assert out.splitlines()[-1] == "keep in fp32 (2 round(s)): --keep-fp32 block.up"


def test_cli_int8_on_a_registered_model(tmp_path, capsys):
    path = tmp_path / "calib.npy"
    np.save(path, np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32))
    code, out, err = run_cli(capsys, "precision", "yolov8n", "--random-weights", "--nc", "2", "--imgsz", "64", "--dtype",
                         "int8", "--calib-data", path, "--calib-method", "minmax", "--calib-batch", "2", "--images",
                         "2", "--top", "3", "--keep-fp32", "model.22.dfl")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("module") and len([ln for ln in lines if ln.startswith("model.")]) == 3
    assert lines[-1].startswith("int8 (rest fp16) vs fp32 over 2 batch(es)")
    assert "keep_fp32 ['model.22.dfl']" in lines[-1]


# ---- the real checkpoint ----------------------------------------------------------------------------------------
REAL = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "yolov8n_shapes.pt")
VAL = os.path.join(os.path.expanduser("~"), ".cache", "trtnn", "shapes", "images", "val")


@pytest.mark.skipif(not os.path.exists(REAL), reason="needs ../shared/data/yolov8n_shapes.pt (the project's data)")
def test_real_yolov8n_fp16_has_no_overflow(tmp_path):
    """Measured on val images 0-2: output SQNR 63 dB, lowest module 46.8 dB (model.22.cv3.0.0)."""
    if not os.path.isdir(VAL):
        pytest.skip(f"needs the generated shapes data set in {VAL} (benchmarks/common.py shapes_dataset())")
    model = trtnn.models.yolov8("n", nc=3)
    model.load_state_dict(trtnn.load_checkpoint(REAL))
    data = trtnn.quant.image_data(VAL, "yolov8n", 320, 1, limit=2)
    report = trtnn.debug.precision_report(model, [trtnn.Input("images", (1, 3, 320, 320))], data, "fp16")
    assert not report.overflows and report.output_sqnr > 58
    assert min(r.sqnr for r in report.rows) > 42
