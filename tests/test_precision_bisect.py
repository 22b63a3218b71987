"""The bisection strategy of the automatic precision mode (trtnn.debug.bisect, `trtnn precision --strategy`):
chains where one leaf module overflows fp16 or reads a badly calibrated INT8 tensor; the search must find exactly
that module in O(log n) probes, from either end, with target_sqnr or a metric callback."""
import dataclasses
import math

import pytest
import torch

import trtnn
import trtnn.nn as nn
from trtnn import cli
from trtnn.debug.bisect import compact, leaf_modules
from test_precision import USER, X, overflow_net, half_big


class Spike(nn.Module):
    """x * 1e5 * 1e-5 inside one leaf module: inf in fp16 for |x| > 0.655, exact enough in fp32."""

    def forward(self, x):
        return x * 1e5 * 1e-5


class Chain(nn.Module):
    """`n` leaf modules l0 .. l{n-1}: ReLUs (exact in fp16 on the data below) and one Spike at `at` (if any)."""

    def __init__(self, n, at):
        super().__init__()
        self.n = n
        for i in range(n):
            setattr(self, f"l{i}", Spike() if i == at else nn.ReLU())

    def forward(self, x):
        for i in range(self.n):
            x = getattr(self, f"l{i}")(x)
        return x


ONES = [{"x": torch.ones(1, 3, 8, 8)}]  # fp16 holds 1.0 exactly; 1e5 does not fit


def bisect(model, data=ONES, **kw):
    kw.setdefault("target_sqnr", 40)
    return trtnn.debug.precision_report(model, X, data, "fp16", strategy="bisect", **kw)


def test_finds_the_one_overflowing_module_probe_by_probe():
    auto = bisect(Chain(16, 9))
    assert auto.keep_fp32 == ["l9"] and auto.met and auto.output_sqnr == math.inf
    steps = [(r["step"], r["units"], r["met"]) for r in auto.rounds]
    assert steps == [("none", 0, False), ("all", 16, True),  # then l0..l7, l0..l11, l0..l9, l0..l8; l5..l9 ...
                     ("prefix", 8, False), ("prefix", 12, True), ("prefix", 10, True), ("prefix", 9, False),
                     ("range", 5, True), ("range", 2, True), ("range", 1, True)]
    assert [r["keep_fp32"] for r in auto.rounds][-3:] == [["l5", "l6", "l7", "l8", "l9"], ["l8", "l9"], ["l9"]]
    assert auto.rounds[0]["output_sqnr_db"] == "-inf" and auto.rounds[-1]["output_sqnr_db"] == "inf"


@pytest.mark.parametrize("direction", ["forward", "reverse"])
@pytest.mark.parametrize("at", [0, 37, 63])
def test_minimal_set_in_log_n_probes_from_either_end(at, direction):
    auto = bisect(Chain(64, at), direction=direction)
    assert auto.keep_fp32 == [f"l{at}"] and auto.met
    assert len(auto.rounds) <= 2 + 2 * math.ceil(math.log2(64))  # 14 of 65 possible
    side = "prefix" if direction == "forward" else "suffix"
    assert {r["step"] for r in auto.rounds} <= {"none", "all", side, "range"}
    half = range(32) if direction == "forward" else range(32, 64)  # the first probe after none and all
    assert auto.rounds[2]["keep_fp32"] == [f"l{i}" for i in half] and auto.rounds[2]["step"] == side


def test_metric_callback_drives_the_search():
    def finite(ref, out):
        return float(all(bool(torch.isfinite(o["output"]).all()) for o in out))

    auto = trtnn.debug.precision_report(Chain(16, 3), X, ONES, "fp16", metric=finite, target=1.0)  # the default
    assert auto.keep_fp32 == ["l3"] and auto.metric == 1.0 and auto.met
    assert [r["metric"] for r in auto.rounds[:2]] == [0.0, 1.0] and auto.rounds[1]["step"] == "all"


def test_met_without_keeping_anything_is_one_probe():
    auto = bisect(Chain(8, None))  # ReLUs only: exact in fp16
    assert auto.keep_fp32 == [] and auto.met and [r["step"] for r in auto.rounds] == ["none"]


def test_given_keep_fp32_stays_and_its_modules_are_not_searched():
    auto = bisect(Chain(8, 5), keep_fp32=["l1"])
    assert auto.keep_fp32 == ["l1", "l5"] and auto.rounds[1]["units"] == 7


def test_max_rounds_caps_the_probes_and_returns_the_shortest_range_met_so_far():
    auto = bisect(Chain(16, 9), max_rounds=3)
    assert len(auto.rounds) == 4 and auto.met
    assert auto.keep_fp32 == [f"l{i}" for i in range(12)]  # the prefix of 12 units: the last one that met


def test_whole_modules_stand_for_their_units():
    auto = trtnn.debug.precision_report(overflow_net(), X, half_big(), "fp16", target_sqnr=40)
    assert auto.keep_fp32 == ["block"] and auto.met and not auto.overflows  # block.up, block.conv, block.down
    assert auto.rounds[1]["keep_fp32"] == ["block", "act", "head"] and auto.rounds[1]["units"] == 5
    units = leaf_modules(trtnn.define(overflow_net(), X))
    assert units == ["block.up", "block.conv", "block.down", "act", "head"]
    assert compact(["act", "block.down", "block.up"], units) == ["block.up", "block.down", "act"]
    assert compact(units[:3], units) == ["block"]


class ConvChain(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.n = n
        for i in range(n):
            setattr(self, f"c{i}", nn.Conv2d(4, 4, 1))

    def forward(self, x):
        for i in range(self.n):
            x = getattr(self, f"c{i}")(x)
        return x


def test_int8_finds_the_convolution_behind_a_badly_calibrated_tensor():
    """c4's output calibrated to 5% of its range: c5's input quantizer clips it (1.5 dB); with c5 in fp32 the
    network is back to its INT8 SQNR (29 dB)."""
    torch.manual_seed(0)
    model = ConvChain(8)
    model.load_state_dict({k: torch.eye(4).reshape(4, 4, 1, 1) + 0.2 * torch.randn(4, 4, 1, 1) if k.endswith("weight")
                           else 0.1 * torch.randn_like(v) for k, v in model.state_dict().items()})
    inputs = [trtnn.Input("x", (1, 4, 8, 8))]
    g = torch.Generator().manual_seed(0)
    data = [{"x": torch.randn((1, 4, 8, 8), generator=g)} for _ in range(2)]
    cal = trtnn.quant.calibrate(model, inputs, data, "minmax", progress=False)
    bad = dataclasses.replace(cal, amax={**cal.amax, "c4": cal.amax["c4"] * 0.05})
    auto = trtnn.debug.precision_report(model, inputs, data, "int8", calibration=bad, target_sqnr=22)
    assert auto.keep_fp32 == ["c5"] and 28 < auto.output_sqnr < 31
    assert auto.rounds[0]["output_sqnr_db"] < 3 and len(auto.rounds) <= 2 + 2 * 3


def test_greedy_stays_available():
    auto = trtnn.debug.precision_report(overflow_net(), X, half_big(), "fp16", target_sqnr=40, strategy="greedy")
    assert [r["keep_fp32"] for r in auto.rounds] == [[], ["block.up"], ["block"]] and "step" not in auto.rounds[0]


# ---- CLI --------------------------------------------------------------------------------------------------------
def test_cli_strategy_and_direction(npy, capsys):
    argv = ["precision", *USER, "--dtype", "fp16", "--calib-data", npy, "--target-sqnr", "40"]
    for extra, last in (([], "keep in fp32 (6 round(s)): --keep-fp32 block"),
                        (["--strategy", "bisect", "--direction", "reverse"],
                         "keep in fp32 (7 round(s)): --keep-fp32 block"),  # suffixes of 2, 3, 4 units, ranges
                        (["--strategy", "greedy"], "keep in fp32 (3 round(s)): --keep-fp32 block")):
        assert cli.main(argv + extra) == 0
        assert capsys.readouterr().out.splitlines()[-1] == last, extra
