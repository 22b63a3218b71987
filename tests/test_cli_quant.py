"""`trtnn build --dtype int8|fp8` and `trtnn calibrate`: calibration on the CPU, the cache, Q/DQ in the engine."""
import json

import numpy as np
import pytest

from harness import run_cli
import trtnn
from trtnn import cli

BASE = ["--random-weights", "--imgsz", "64"]


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "calib.npy"
    np.save(path, np.random.default_rng(0).random((16, 3, 64, 64), dtype=np.float32))
    return str(path)


@pytest.mark.parametrize("dtype", ["int8", "fp8"])
def test_build_quantized_engine_with_a_cache(dtype, data, tmp_path, capsys):
    cache, plan = tmp_path / "c.json", tmp_path / "y.plan"
    code, out, err = run_cli(capsys, "build", "unet", *BASE, "--dtype", dtype, "--calib-data", data, "--calib-method",
                             "minmax", "--calib-cache", cache, "--int8-budget", "off", "-o", plan)
    assert code == 0, err
    assert plan.stat().st_size > 0 and f"wrote {plan}" in out
    saved = json.loads(cache.read_text())
    assert saved["method"] == "minmax" and "inc.double_conv.1" in saved["amax"]  # module paths (conv folded into bn)
    code, _, err = run_cli(capsys, "build", "unet", *BASE, "--dtype", dtype, "--calib-data", data, "--calib-method",
                       "entropy", "--calib-cache", cache, "--int8-budget", "off", "-o", plan)
    assert code == 2 and "method changed (cache: minmax, now: entropy)" in err  # a stale cache is refused...
    code, _, err = run_cli(capsys, "build", "unet", *BASE, "--dtype", dtype, "--calib-data", data, "--calib-method",
                       "entropy", "--calib-cache", cache, "--recalibrate", "--int8-budget", "off", "-o", plan)
    assert code == 0, err  # ...or overwritten on request
    assert json.loads(cache.read_text())["method"] == "entropy"


def test_calibrate_command_writes_the_cache_and_policy_then_reuses_them(data, tmp_path, capsys):
    import torch

    weights = tmp_path / "unet.pt"
    torch.save({k: torch.randn(v.shape) * 0.1 if k.endswith("weight") else v
                for k, v in trtnn.models.get("unet")().state_dict().items()}, weights)
    cache = tmp_path / "p.json"
    argv = ["calibrate", "unet", "--weights", weights, "--imgsz", "64", "--calib-data", data, "--calib-method",
            "percentile", "--calib-cache", cache]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert out.startswith("INT8 policy (percentile calibration, budget 25 dB SQNR per task output")
    assert f"\nwrote {cache}: " in out and "method percentile" in out and "p.policy.json" in out
    assert json.loads(cache.read_text())["method_args"]["percentile"] == 99.99
    policy = json.loads((tmp_path / "p.policy.json").read_text())
    assert policy["budget"] == 25 and "output" in policy["sqnr"]  # a UNet's one output is one part
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert out.startswith(f"reused {tmp_path / 'p.policy.json'}: INT8 policy") and f"\nreused {cache}: " in out


def test_int8_budget_flag_is_checked(data, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["calibrate", "unet", *BASE, "--calib-data", data, "--calib-cache", str(tmp_path / "c.json"),
                  "--int8-budget=-3"])
    assert e.value.code == 2
    assert "--int8-budget: expected a number of dB in (0, 200) or 'off', got -3" in capsys.readouterr().err
