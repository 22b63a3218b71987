"""`trtnn build --dtype int8|fp8` and `trtnn calibrate`: calibration on the CPU, the cache, Q/DQ in the engine."""
import json

import numpy as np
import pytest

import trtnn
from trtnn import cli
from trtnn.quant import for_end2end, paths_for_end2end
from trtnn.models.detect import End2End, Preprocess

BASE = ["--random-weights", "--imgsz", "64"]


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "calib.npy"
    np.save(path, np.random.default_rng(0).random((16, 3, 64, 64), dtype=np.float32))
    return str(path)


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("dtype", ["int8", "fp8"])
def test_build_quantized_engine_with_a_cache(dtype, data, tmp_path, capsys):
    cache, plan = tmp_path / "c.json", tmp_path / "y.plan"
    code, out, err = run(capsys, "build", "unet", *BASE, "--dtype", dtype, "--calib-data", data, "--calib-method",
                         "minmax", "--calib-cache", cache, "--int8-budget", "off", "-o", plan)
    assert code == 0, err
    assert plan.stat().st_size > 0 and f"wrote {plan}" in out
    saved = json.loads(cache.read_text())
    assert saved["method"] == "minmax" and "inc.double_conv.1" in saved["amax"]  # module paths (conv folded into bn)
    code, _, err = run(capsys, "build", "unet", *BASE, "--dtype", dtype, "--calib-data", data, "--calib-method",
                       "entropy", "--calib-cache", cache, "--int8-budget", "off", "-o", plan)
    assert code == 2 and "method changed (cache: minmax, now: entropy)" in err  # a stale cache is refused...
    code, _, err = run(capsys, "build", "unet", *BASE, "--dtype", dtype, "--calib-data", data, "--calib-method",
                       "entropy", "--calib-cache", cache, "--recalibrate", "--int8-budget", "off", "-o", plan)
    assert code == 0, err  # ...or overwritten on request
    assert json.loads(cache.read_text())["method"] == "entropy"


def test_calibrate_command_writes_the_cache(data, tmp_path, capsys):
    cache = tmp_path / "p.json"
    code, out, err = run(capsys, "calibrate", "unet", *BASE, "--calib-data", data, "--calib-method", "percentile",
                         "--calib-cache", cache)
    assert code == 0, err
    assert out.startswith("INT8 policy (percentile calibration, budget 25 dB SQNR per task output")
    assert f"\nwrote {cache}: " in out and "method percentile" in out and "p.policy.json" in out
    assert json.loads(cache.read_text())["method_args"]["percentile"] == 99.99
    policy = json.loads((tmp_path / "p.policy.json").read_text())
    assert policy["budget"] == 25 and "output" in policy["sqnr"]  # a UNet's one output is one part
    code, out, err = run(capsys, "calibrate", "unet", *BASE, "--calib-data", data, "--calib-method", "percentile",
                         "--calib-cache", cache)
    assert code == 0 and out.startswith(f"reused {tmp_path / 'p.policy.json'}: INT8 policy") and f"reused {cache}" in out


def test_int8_budget_flag_is_checked(data, tmp_path, capsys):
    code, _, err = run(capsys, "calibrate", "unet", *BASE, "--calib-data", data, "--calib-cache", tmp_path / "c.json",
                       "--int8-budget", "-3")
    assert code == 2 and "--int8-budget: expected a number of dB in (0, 200) or 'off', got -3" in err


def test_end2end_names_follow_the_wrapper():
    """The raw model's calibration and --exclude paths are renamed for the end-to-end wrapper: every convolution of
    the raw model is quantized inside End2End, except the excluded DFL."""
    model = trtnn.models.yolov8("n", nc=2)
    net = trtnn.define(model, [trtnn.Input("images", (1, 3, 64, 64))], dtype="fp32")
    from trtnn.reference import Executor

    values = Executor(net.network)({"images": np.random.default_rng(1).random((1, 3, 64, 64), dtype=np.float32)},
                                   keep_all=True)
    amax = {k: float(v.abs().max()) for k, v in values.items() if v.dtype.is_floating_point}
    amax["images"] = 1.0
    e2e = End2End(model, preprocess=Preprocess("NHWC", bgr=True))
    assert paths_for_end2end(["model.22.dfl", "Detect"]) == ["model.model.22.dfl", "Detect"]
    q = trtnn.define(e2e, e2e.inputs((64, 64)), dtype="int8", calibration=for_end2end(amax, e2e, "images"),
                     exclude=paths_for_end2end(["model.22.dfl"]))
    assert "model.model.0.conv" in " ".join(q.quantized) and not any("dfl" in p for p in q.quantized)
    assert len(q.quantized) >= len([p for p in net.folded]) > 50
