"""Dynamic shapes from the command line for registered models (trtexec-style --min/--opt/--max in the engine input's
own layout), and calibration / the precision report on dynamic networks (library and CLI)."""
import json

import numpy as np
import pytest
import torch

from harness import Tiny, run_cli
import trtnn
from trtnn.cli import build_parser
from trtnn.cli.commands import build
from trtnn.reference import Executor

R = ["--random-weights"]


def _prepare(*argv):
    return build.prepare(build_parser().parse_args(["build", *argv, "-o", "/tmp/unused.plan"]))


def test_registered_raw_model_takes_min_opt_max_in_nchw(tmp_path, capsys):
    plan = tmp_path / "y.plan"
    code, out, err = run_cli(capsys, "build", "yolov8n", *R, "--min", "images:1x3x32x32", "--opt", "images:2x3x64x96",
                             "--max", "images:2x3x64x96", "-o", plan)
    assert code == 0, err
    assert "input  images: -1x3x-1x-1 fp32" in out and "output output: -1x84x-1 fp32" in out
    assert "range  images: min 1x3x32x32  opt 2x3x64x96  max 2x3x64x96" in out
    meta = json.loads((tmp_path / "y.plan.json").read_text())
    assert meta["profiles"] == [{"images": [[1, 3, 32, 32], [2, 3, 64, 96], [2, 3, 64, 96]]}]
    assert meta["imgsz"] == [64, 96]  # the largest size, as --dynamic's --imgsz


def test_dims_that_do_not_vary_stay_static():
    _, inputs, _ = _prepare("yolov8n", *R, "--min", "images:2x3x32x64", "--max", "images:2x3x96x64")
    assert inputs[0].shape == (2, 3, -1, 64) and inputs[0].profile() == ((2, 3, 32, 64),) + ((2, 3, 96, 64),) * 2
    _, inputs, _ = _prepare("yolov8n", *R, "--min", "images:2x3x32x64", "--max", "images:2x3x32x64")
    assert inputs[0].shape == (2, 3, 32, 64) and not inputs[0].is_dynamic


def test_end2end_preprocess_takes_nhwc_uint8_shapes_with_two_profiles_and_equals_static(tmp_path, capsys):
    """--end2end --preprocess: the shapes are the uint8 NHWC engine input's; orig_size's batch follows in each
    profile; the network equals static ones at shapes of both profiles on the executor."""
    groups = ["--min", "images:1x32x32x3", "--opt", "images:1x64x64x3", "--max", "images:2x64x64x3",
              "--min", "images:2x64x96x3", "--opt", "images:4x96x128x3", "--max", "images:4x96x128x3"]
    e2e, inputs, _ = _prepare("yolov8n", *R, "--end2end", "--preprocess", "--orig-size", "--conf", "0.01", *groups)
    images, orig = inputs
    assert images.shape == (-1, -1, -1, 3) and images.dtype == torch.uint8
    assert images.profiles == [((1, 32, 32, 3), (1, 64, 64, 3), (2, 64, 64, 3)),
                               ((2, 64, 96, 3), (4, 96, 128, 3), (4, 96, 128, 3))]
    assert orig.shape == (-1, 2) and orig.profiles == [((1, 2), (1, 2), (2, 2)), ((2, 2), (4, 2), (4, 2))]
    dyn = Executor(trtnn.define(e2e, inputs))
    g = torch.Generator().manual_seed(0)
    for b, h, w in ((2, 32, 64), (3, 96, 128)):
        feed = {"images": (torch.rand(b, h, w, 3, generator=g) * 255).to(torch.uint8),
                "orig_size": torch.tensor([[480, 640]] * b, dtype=torch.int32)}
        static = Executor(trtnn.define(e2e, e2e.inputs((h, w), batch=b)))(feed)
        got = dyn(feed)
        assert all(torch.equal(got[k], static[k]) for k in static), (b, h, w)
    code, out, err = run_cli(capsys, "build", "yolov8n", *R, "--end2end", "--preprocess", "--orig-size", *groups,
                             "-o", tmp_path / "e.plan")
    assert code == 0, err
    assert "input  images: -1x-1x-1x3 uint8" in out
    assert "range  orig_size [profile 1]: min 2x2  opt 4x2  max 4x2" in out


def test_end2end_without_preprocess_takes_float_nchw():
    _, inputs, _ = _prepare("yolov8n", *R, "--end2end", "--min", "images:1x3x32x32", "--max", "images:1x3x64x64")
    assert inputs[0].shape == (1, 3, -1, -1) and inputs[0].dtype == torch.float32


PRE = ["build", "yolov8n", *R, "--end2end", "--preprocess"]
BAD = [
    (PRE + ["--min", "images:1x3x64x64", "--max", "images:1x3x96x96"],
     "--min 'images:1x3x64x64': input 'images' (NHWC uint8, BxHxWx3, from --preprocess nhwc-bgr) takes BxHxWx3; "
     "1x3x64x64 is in NCHW order: give images:1x64x64x3"),
    (["build", "yolov8n", *R, "--min", "images:1x64x64x3", "--max", "images:1x96x96x3"],
     "input 'images' (NCHW fp32, Bx3xHxW) takes Bx3xHxW; 1x64x64x3 is in NHWC order: give images:1x3x64x64"),
    (["build", "yolov8n", *R, "--min", "images:1x4x64x64", "--max", "images:1x4x96x96"],
     "--min 'images:1x4x64x64': input 'images' dim 1 (channels): yolov8n takes 3, got 4"),
    (PRE + ["--min", "images:1x64x70x3", "--max", "images:1x96x96x3"],
     "--min 'images:1x64x70x3': input 'images' dim 2 (width) 70 is not a multiple of yolov8n's stride 32; the next "
     "valid value is 96"),
    (["build", "centernet_res18", *R, "--min", "input:1x3x64x64", "--opt", "input:1x3x100x64", "--max",
      "input:1x3x128x64"], "--opt 'input:1x3x100x64': input 'input' dim 2 (height) 100 is not a multiple of "
                           "centernet_res18's stride 32; the next valid value is 128"),
    (["build", "yolov8n", *R, "--min", "x:1x3x64x64", "--max", "x:1x3x96x96"],
     "--min 'x:1x3x64x64': yolov8n has no input 'x'; its image input is 'images' (NCHW fp32, Bx3xHxW)"),
    (PRE + ["--orig-size", "--min", "orig_size:1x2", "--max", "images:1x96x96x3"],
     "no input 'orig_size'; its image input is 'images' (NHWC uint8, BxHxWx3, from --preprocess nhwc-bgr), and the "
     "batch of 'orig_size' follows it"),
    (["build", "yolov8n", *R, "--min", "images:1x3x64", "--max", "images:1x3x96x96"],
     "input 'images' has 4 dims (Bx3xHxW), got 3"),
    (["build", "yolov8n", *R, "--dynamic", "--min", "images:1x3x64x64", "--max", "images:1x3x96x96"],
     "--dynamic and --min/--opt/--max: give one (--min/--opt/--max images:SHAPE set the batch, height and width"),
    (["build", "yolov8n", *R, "--imgsz", "64", "--max-batch", "2", "--min", "images:1x3x64x64"],
     "--imgsz, --max-batch and --min/--opt/--max: give one"),
    (["build", "yolov8n", *R, "--min", "images:1x3x64x64", "--min", "images:1x3x32x32", "--max", "images:1x3x96x96"],
     "input 'images': 2 --min and 1 --max; each optimization profile takes one --min and one --max"),
    (["build", "yolov8n", *R, "--min", "images:1x3x96x96", "--max", "images:1x3x64x64"],
     "input 'images' dim 2: need min <= opt <= max, got min 96, opt 64, max 64"),
    (["build", "yolov8n", *R, "--input", "images:-1x3x-1x-1", "--min", "images:1x3x64x64", "--max",
      "images:1x3x100x96"], "input 'images' dim 2 (height) 100 is not a multiple of yolov8n's stride 32; the next "
                           "valid value is 128"),
    (["build", "yolo11n-cls", *R, "--end2end", "--preprocess", "--src-size", "80", "--min", "images:1x64x64x3",
      "--max", "images:1x96x96x3"], "--src-size and --min/--opt/--max: the engine resizes images of one fixed size"),
    (["inspect", "yolov8n", *R, "--min", "images:1x3x64x64", "--max", "images:1x3x64x90"],
     "dim 3 (width) 90 is not a multiple of yolov8n's stride 32; the next valid value is 96"),
    (["calibrate", "yolov8n", *R, "--calib-data", "{tmp}", "--calib-cache", "{tmp}/c.json", "--min",
      "images:1x3x64x64", "--max", "x:1x3x96x96"], "--max 'x:1x3x96x96': yolov8n has no input 'x'"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_min_opt_max_for_registered_models(argv, message, tmp_path, capsys):
    if "calibrate" in argv:
        np.save(tmp_path / "d.npy", np.zeros((2, 3, 64, 64), np.float32))
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if argv[0] == "build":
        argv += ["-o", str(tmp_path / "y.plan")]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message in err, err
    assert not (tmp_path / "y.plan").exists()


# ---- calibration and the precision report on dynamic networks -----------------------------------------------
def _tiny():
    torch.manual_seed(0)
    model = Tiny()
    model.load_state_dict({k: torch.rand(v.shape) + 0.5 if "var" in k else torch.randn(v.shape)
                           for k, v in model.state_dict().items() if v.is_floating_point()}, strict=False)
    return model


DYN = trtnn.Input("x", (-1, 3, -1, -1), min_shape=(1, 3, 8, 8), opt_shape=(2, 3, 16, 16), max_shape=(4, 3, 32, 32))


def _batches(*shapes, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [{"x": torch.randn(*s, generator=g)} for s in shapes]


def test_calibrate_a_dynamic_network_at_the_shapes_of_the_data_with_its_policy():
    """Batches of different sizes within the profile: the ranges equal the abs-max over all of them (minmax), the
    sensitivity step measures on batches of different sizes, and the INT8 network defines and builds dynamic."""
    model, data = _tiny(), _batches((2, 3, 16, 16), (1, 3, 24, 8), (4, 3, 32, 32))
    cal = trtnn.quant.calibrate(model, [DYN], data, method="minmax")
    assert cal.num_batches == 3 and cal.policy is not None and "output" in cal.policy.sqnr
    fp32 = Executor(trtnn.define(model, [DYN], dtype="fp32"))
    seen = {}
    for feed in data:
        fp32(feed, observe=lambda n, v: seen.__setitem__(n, max(seen.get(n, 0.0), float(v.abs().max()))))
    assert cal.amax["x"] == pytest.approx(seen["x"], rel=1e-6)
    assert cal.amax["bn"] == pytest.approx(seen["bn"], rel=1e-6)  # the conv folded into bn: its output
    net = trtnn.define(model, [DYN], dtype="int8", calibration=cal)
    assert net.quantized and net.inputs[0].shape == (-1, 3, -1, -1)
    out8 = Executor(net)(data[1])["output"]
    assert out8.shape == (1, 4, 24, 8)
    engine = trtnn.build_network(net)
    assert engine.profiles == [{"x": [[1, 3, 8, 8], [2, 3, 16, 16], [4, 3, 32, 32]]}]


def test_calibration_batch_outside_the_profile_names_the_batch_input_dim_and_range():
    with pytest.raises(trtnn.InputError, match=r"calibration batch 1: input 'x': shape \(5, 3, 16, 16\) is outside "
                                               r"the network's profile .*: dim 0 is 5, allowed 1..4"):
        trtnn.quant.calibrate(_tiny(), [DYN], _batches((2, 3, 16, 16), (5, 3, 16, 16)), budget=None)
    with pytest.raises(trtnn.InputError, match=r"calibration batch 0: .* dim 3 is 40, allowed 8..32"):
        trtnn.quant.calibrate(_tiny(), [DYN], _batches((2, 3, 16, 40)), budget=None)


def test_calibrate_numpy_file_along_a_dynamic_batch_is_one_batch(tmp_path):
    np.save(tmp_path / "a.npy", np.random.default_rng(0).standard_normal((3, 3, 16, 24), dtype=np.float32))
    cal = trtnn.quant.calibrate(_tiny(), [DYN], str(tmp_path / "a.npy"), budget=None)
    assert cal.num_batches == 1
    np.save(tmp_path / "b.npy", np.zeros((6, 3, 16, 24), np.float32))
    with pytest.raises(trtnn.InputError, match="dim 0 is 6, allowed 1..4"):
        trtnn.quant.calibrate(_tiny(), [DYN], str(tmp_path / "b.npy"), budget=None)


def test_precision_report_on_a_dynamic_network_equals_the_static_reports():
    """fp16 report on one dynamic network: on one batch it equals the static network's report at that shape; over
    batches of two sizes each module's SQNR accumulates both (between the two static reports)."""
    model, data = _tiny(), _batches((2, 3, 16, 16), (1, 3, 24, 8))
    parts = [trtnn.debug.precision_report(model, [trtnn.Input("x", tuple(f["x"].shape))], [f], "fp16") for f in data]
    one = trtnn.debug.precision_report(model, [DYN], data[1:], "fp16")
    assert [(r.path, r.sqnr, r.max_rel, r.shapes) for r in one.rows] == \
        [(r.path, r.sqnr, r.max_rel, r.shapes) for r in parts[1].rows]
    dyn = trtnn.debug.precision_report(model, [DYN], data, "fp16")
    assert dyn.batches == 2 and [r.path for r in dyn.rows] == [r.path for r in parts[0].rows] == ["bn", "<output>"]
    for row in dyn.rows:
        ref = [next(r for r in p.rows if r.path == row.path) for p in parts]
        assert min(r.sqnr for r in ref) - 1e-9 <= row.sqnr <= max(r.sqnr for r in ref) + 1e-9
        assert row.max_rel <= max(r.max_rel for r in ref) + 1e-12
    with pytest.raises(trtnn.InputError, match="dim 2 is 40, allowed 8..32"):
        trtnn.debug.precision_report(model, [DYN], _batches((1, 3, 40, 8)), "fp16")


def test_cli_int8_build_and_precision_of_a_dynamic_registered_model(tmp_path, capsys):
    """`trtnn build --dtype int8` with --min/--opt/--max: calibrated at --calib-batch and the opt size; `trtnn
    calibrate` with .npy data of the dynamic sizes; `trtnn precision` on it."""
    from trtnn.io.checkpoint import save_checkpoint

    rng = np.random.default_rng(0)
    np.save(tmp_path / "opt.npy", rng.random((4, 3, 64, 96), dtype=np.float32))
    save_checkpoint(trtnn.models.get("yolov8n")(nc=3).state_dict(), str(tmp_path / "y.safetensors"))
    shapes = ["--weights", tmp_path / "y.safetensors", "--min", "images:1x3x32x32", "--opt", "images:2x3x64x96",
              "--max", "images:2x3x96x96"]
    code, out, err = run_cli(capsys, "calibrate", "yolov8n", *shapes, "--calib-data", tmp_path / "opt.npy",
                             "--calib-cache", tmp_path / "c.json", "--calib-batch", "2", "--int8-budget", "off")
    assert code == 0, err
    assert json.loads((tmp_path / "c.json").read_text())["num_batches"] == 2
    code, out, err = run_cli(capsys, "build", "yolov8n", *shapes, "--dtype", "int8", "--calib-data",
                             tmp_path / "opt.npy", "--calib-cache", tmp_path / "c.json", "--calib-batch", "2",
                             "--int8-budget", "off", "-o", tmp_path / "q.plan")
    assert code == 0, err
    assert "input  images: -1x3x-1x-1 fp32" in out and "range  images: min 1x3x32x32  opt 2x3x64x96" in out
    (tmp_path / "two").mkdir()  # two batches of other sizes, inside the profile
    np.save(tmp_path / "two" / "a.npy", rng.random((2, 3, 64, 96), dtype=np.float32))
    np.save(tmp_path / "two" / "b.npy", rng.random((1, 3, 32, 64), dtype=np.float32))
    code, out, err = run_cli(capsys, "precision", "yolov8n", *shapes, "--dtype", "fp16", "--calib-data",
                             tmp_path / "two", "--images", "2", "--json", tmp_path / "r.json")
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["batches"] == 2 and report["inputs"] == [[-1, 3, -1, -1]]
    assert 40 < report["output_sqnr_db"] < 200, out  # fp16 of an untrained yolov8n: about 74 dB


def test_cli_calibrates_an_image_folder_at_the_profile_opt_size(tmp_path, capsys):
    import cv2

    from trtnn.io.checkpoint import save_checkpoint

    rng = np.random.default_rng(0)
    (tmp_path / "images").mkdir()
    for k, size in enumerate(((50, 70), (90, 40))):
        cv2.imwrite(str(tmp_path / "images" / f"{k}.png"), rng.integers(0, 256, (*size, 3), dtype=np.uint8))
    save_checkpoint(trtnn.models.get("yolov8n")(nc=3).state_dict(), str(tmp_path / "y.safetensors"))
    code, out, err = run_cli(capsys, "calibrate", "yolov8n", "--weights", tmp_path / "y.safetensors", "--min",
                             "images:1x3x32x32", "--opt", "images:1x3x64x96", "--max", "images:4x3x96x96",
                             "--calib-data", tmp_path / "images", "--calib-cache", tmp_path / "c.json",
                             "--calib-batch", "2", "--int8-budget", "off")
    assert code == 0, err
    assert "calibrating at 2x3x64x96 (--calib-batch and the opt shape of input 'images'" in out
    cache = json.loads((tmp_path / "c.json").read_text())
    assert cache["preprocess"]["imgsz"] == [64, 96] and cache["num_batches"] == 1
