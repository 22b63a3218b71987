"""Issue 20's edges that are not a single bad input (those are cases of test_bad_inputs.py): torch-parity calls that
work as torch's do, one-line CLI errors, Ctrl-C at any moment of the `trtnn` command, the same bytes for the same
weights and definitions, and trtnn as a builder service (soak, threads, cancellation)."""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import trtnn
import trtnn.functional as F
from harness import Fn, Tiny
from trtnn.io.sidecar import engine_metadata
from trtnn.reference import Executor

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


# ---- torch parity: what works as in torch ------------------------------------------------------------------------
def test_module_device_and_mode_calls_that_torch_code_makes_return_the_module() -> None:
    m = Tiny()
    assert m.cpu() is m and m.to("cpu") is m and m.to(device="cpu") is m and m.to(torch.device("cpu")) is m
    assert m.eval() is m and m.train(False) is m and m.training is False
    assert m.to(dtype=torch.float16) is m and m.conv.weight.dtype == torch.float16
    assert m.to("fp32").conv.weight.dtype == torch.float32 and m.bn.running_var.dtype == torch.float32


def test_numpy_and_torch_constants_join_trtnn_tensors_as_in_torch() -> None:
    ones = np.ones((1, 2, 4, 4), np.float32)
    net = trtnn.define(Fn(lambda x: F.cat([x, ones, torch.full((1, 1, 4, 4), 2.0)], 1) * np.float32(3)),
                       [trtnn.Input("x", (1, 3, 4, 4))])
    x = torch.randn(1, 3, 4, 4)
    out = Executor(net)({"x": x})
    out = out if isinstance(out, torch.Tensor) else next(iter(out.values()))
    expect = torch.cat([x, torch.from_numpy(ones), torch.full((1, 1, 4, 4), 2.0)], 1) * 3
    assert out.shape == (1, 6, 4, 4) and torch.equal(out, expect)


def test_functional_ops_keep_their_names_and_signatures() -> None:
    import inspect

    assert F.relu.__name__ == "relu" and F.conv2d.__module__ == "trtnn.functional.conv"
    assert list(inspect.signature(F.conv2d).parameters)[:3] == ["input", "weight", "bias"]
    assert torch.equal(F.arange(4), torch.arange(4))  # returns a torch tensor, like torch.arange: no trtnn Tensor


# ---- CLI: one-line argument errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, text", [
    (["build", "yolov8n", "--random-weights"], "trtnn build: error: the following arguments are required: "
                                               "-o/--output (see trtnn build --help)"),
    (["build", "yolov8n", "--random-weights", "-o", "y.plan", "--bogus"],
     "trtnn build: error: unrecognized arguments: --bogus (see trtnn build --help)"),
    (["inspect", "yolov8n", "--dtype", "int4"], "trtnn inspect: error: argument --dtype: invalid choice: 'int4'"),
    (["buidl"], "trtnn: error: argument COMMAND: invalid choice: 'buidl'"),
    (["convert", "a.pt"], "trtnn convert: error: the following arguments are required: dst "
                          "(see trtnn convert --help)"),
])
def test_argument_errors_are_one_line_that_points_at_the_help(argv, text) -> None:
    from trtnn.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(text) and "usage:" not in err.getvalue()


# ---- CLI: Ctrl-C ------------------------------------------------------------------------------------------------------
def _interrupt_when(tmp: Path, loaded: str, argv: list) -> subprocess.CompletedProcess:
    """Start `python -m trtnn.cli ARGV` in `tmp`; send SIGINT once its memory maps show `loaded` (a shared library).
    The child gets SIGINT's default disposition: a suite started as a background job (`pytest &` in a script)
    ignores SIGINT, and a child would inherit that."""
    p = subprocess.Popen([sys.executable, "-m", "trtnn.cli", *argv], cwd=tmp, env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while p.poll() is None and time.monotonic() < deadline:
        try:
            if loaded in Path(f"/proc/{p.pid}/maps").read_text():
                break
        except OSError:
            pass
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=240)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc to see what the process loaded")
@pytest.mark.parametrize("moment, loaded, line", [
    ("while importing torch", "libtorch", "trtnn: interrupted"),
    ("while defining or building", "libtensorrt", "trtnn build: interrupted"),
])
def test_ctrl_c_at_any_moment_exits_130_with_one_line_and_leaves_nothing(tmp_path, moment, loaded, line) -> None:
    r = _interrupt_when(tmp_path, loaded, ["build", "yolov8n", "--random-weights", "--imgsz", "640", "-o", "y.plan"])
    assert r.returncode == 130, r.stderr
    assert r.stderr.splitlines() == [line]
    assert list(tmp_path.iterdir()) == []


# ---- determinism ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", ["pt", "pth", "safetensors", "npz", "wts"])
def test_the_same_weights_saved_again_give_the_same_bytes(tmp_path, ext) -> None:
    torch.manual_seed(0)
    state = {"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.randn(4), "bn.num_batches_tracked":
             torch.tensor(7), "head.w": torch.randn(2, 5)}
    saved = set()
    for i in range(6):  # safetensors wrote its metadata in hash order: 2 entries, different ~half of the time
        trtnn.save_checkpoint(state, tmp_path / f"w{i}.{ext}")
        saved.add((tmp_path / f"w{i}.{ext}").read_bytes())
    assert len(saved) == 1
    back = trtnn.load_checkpoint(tmp_path / f"w0.{ext}")
    assert list(back) == list(state)  # (.wts keeps values flat, in float32)
    assert all(torch.equal(back[k].reshape(-1).to(state[k].dtype), state[k].reshape(-1)) for k in state)


def test_the_same_definition_gives_the_same_engine_json(tmp_path) -> None:
    for i in range(2):
        model = Tiny()
        model.load_state_dict(Tiny().state_dict())
        engine = trtnn.build(model, [trtnn.Input("x", (-1, 3, 8, 8), min_shape=(1, 3, 8, 8), max_shape=(4, 3, 8, 8))])
        facts = {"nc": 2, "thresholds": None, "preprocess": None}
        engine.save(str(tmp_path / f"t{i}.plan"), metadata=engine_metadata(engine, facts, names=["a", "b"],
                                                                           task="detect", source={"w": "x.pt"}))
    first = (tmp_path / "t0.plan.json").read_bytes()
    assert first == (tmp_path / "t1.plan.json").read_bytes()
    assert json.loads(first)["inputs"][0]["shape"] == [-1, 3, 8, 8]


# ---- builder service: soak, threads, cancellation -------------------------------------------------------------------
def test_builder_service_soak_threads_and_cancellation(tmp_path) -> None:
    """benchmarks/soak.py's short version: 40 define+build cycles, 4 threads over 4 networks, 3 cancelled builds."""
    out = tmp_path / "soak.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--quick", "--cycles", "40", "--warmup",
                    "10", "--json", str(out)], check=True, env=ENV, timeout=600, cwd=tmp_path)
    fig = json.loads(out.read_text())
    soak = fig["soak"]
    assert soak["rss_growth_pct"] < 5.0 and soak["fds_end"] == soak["fds_after_warmup"], soak
    assert soak["temp_files_left"] == []
    jobs = fig["concurrency"]["jobs"]
    assert len(jobs) == 4 and all(j["same_as_sequential"] for j in jobs), jobs
    assert all(j["plan_bytes_same_threaded"] and j["plan_bytes_same_sequential_twice"] for j in jobs), jobs
    assert [j["error"].split(":")[0] for j in jobs if j["error"]] == ["ShapeError"]
    assert "weight (4, 5, 3, 3)" in jobs[3]["error"]
    for r in fig["cancel"]:
        assert r["result"] == "BuildCancelled" and r["next_build_ok"] and r["fds_after"] == r["fds_before"], r
        assert r["temp_files_left"] == [] and r["stopped_after_cancel_s"] < 10, r
    assert [p.name for p in tmp_path.iterdir()] == ["soak.json"]


# ---- examples read the checkpoint as the CLI does ---------------------------------------------------------------------
SHAPES = ROOT.parent / "shared" / "data" / "yolov8n_shapes.pt"


@pytest.mark.skipif(not SHAPES.exists(), reason="needs ../shared/data/yolov8n_shapes.pt (the project's shared data)")
def test_example_reads_the_class_count_and_names_off_the_checkpoint(tmp_path) -> None:
    out = tmp_path / "y.engine"
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "yolov8.py"), str(SHAPES), "--end2end", "--imgsz",
                        "64", "64", "--out", str(out)], env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "y.engine.json").read_text())
    assert meta["names"] == {"0": "circle", "1": "rectangle", "2": "triangle"}
    assert [o["name"] for o in meta["outputs"]] == ["num_dets", "det_boxes", "det_scores", "det_classes"]
    assert "x1, y1, x2, y2" in meta["outputs"][1]["meaning"]


def test_ctrl_c_while_tensorrt_initialises_is_a_keyboard_interrupt_not_a_missing_package(tmp_path, monkeypatch):
    """TensorRT's native initialisation turns an interrupt into ImportError('initialization failed'): the backend
    holds Ctrl-C over the import and raises it after, instead of reporting TensorRT as not installed."""
    from trtnn.backend import _import_holding_ctrl_c

    (tmp_path / "fake_tensorrt_init.py").write_text(
        "import os, signal, time\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(0.2)\n"
        "except KeyboardInterrupt:\n"
        "    raise ImportError('initialization failed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # also when the suite runs as a background job
    try:
        with pytest.raises(KeyboardInterrupt):
            _import_holding_ctrl_c("fake_tensorrt_init")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert "fake_tensorrt_init" in sys.modules  # the import itself completed
