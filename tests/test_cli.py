"""The `trtnn` command: the model registry, every argument checked before work (exit 2, one line saying what is
allowed, nothing written), dynamic shapes, .wts round trips, CenterNet checkpoints, compare, Ctrl-C and pipes."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from harness import run_cli
import trtnn
import trtnn.nn as tnn
from trtnn import cli, models
from trtnn.io.checkpoint import save_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Tiny(tnn.Module):
    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


class TinyTorch(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


def tiny():
    return Tiny()


def tiny_torch():
    return TinyTorch()


def torch_tiny_as_trt():  # a torch module where a trtnn one is expected
    return TinyTorch()


class Other(tnn.Module):  # a trtnn model whose state_dict does not fit TinyTorch's
    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(3, 5, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


def snapshot(folder):
    return {p: os.stat(os.path.join(folder, p)).st_mtime_ns for p in sorted(os.listdir(folder))}


# ---- the registry ---------------------------------------------------------------------------------------------
def test_registry_specs_and_models_agree():
    assert set(models.MODELS) == set(models.SPECS)
    assert models.get("yolov8n") is models.spec("yolov8n").variants["yolov8n"]
    assert models.spec("yolov8s").input_name == "images" and models.spec("yolov8s").stride == 32
    assert models.spec("unet").imgsz == (572, 572) and models.spec("centernet_dla34").imgsz == (512, 512)
    assert models.spec("yolov5m").end2end_defaults == {"conf": 0.25, "iou": 0.45, "max_det": 1000, "pre_nms_topk": 1000}
    with pytest.raises(trtnn.ConfigError, match="unknown model 'yolov9'; registered models: yolov8n, .*centernet_dla34"):
        models.spec("yolov9")


@pytest.mark.parametrize("name, kwargs, want", [
    ("yolov8n", {"nc": 3}, {"nc": 3}),
    ("yolo11n", {"nc": 7}, {"nc": 7}),
    ("yolov5n", {"nc": 2}, {"nc": 2}),
    ("unet_bilinear", {"n_classes": 1, "n_channels": 1}, {"n_classes": 1, "n_channels": 1}),
    ("centernet_res18", {"num_classes": 3}, {"heads": {"hm": 3, "wh": 2, "reg": 2}, "head_conv": 64}),
])
def test_config_read_off_shaped_and_flat_state_dicts(name, kwargs, want):
    state = models.get(name)(**kwargs).state_dict()
    s = models.spec(name)
    assert s.config_from_state_dict(state) == want
    assert s.config_from_state_dict({k: v.reshape(-1) for k, v in state.items()}) == want  # as .wts holds them


def test_from_checkpoint_reads_the_class_count(tmp_path):
    ref = models.get("yolov8n")(nc=3)
    save_checkpoint(ref.state_dict(), str(tmp_path / "y.safetensors"))
    model = models.from_checkpoint("yolov8n", str(tmp_path / "y.safetensors"))
    assert model.model[-1].nc == 3
    assert torch.equal(model.state_dict()["model.0.conv.weight"], ref.state_dict()["model.0.conv.weight"])
    with pytest.raises(trtnn.ConfigError, match="unknown model 'yolov7n'"):
        models.from_checkpoint("yolov7n", str(tmp_path / "y.safetensors"))


# ---- bad arguments: exit 2, one line naming the argument and what is allowed, nothing written ---------------------
Y = ["build", "yolov8n", "--random-weights", "--imgsz", "64"]
E = Y + ["--end2end"]
F = ["build", "test_cli:tiny", "--input", "x:1x3x8x8"]
D = ["build", "test_cli:tiny", "--input", "x:-1x3x-1x-1"]
BAD = [
    (E + ["--conf", "1.5"], "--conf 1.5: must be in [0, 1]"),
    (E + ["--conf", "-0.1"], "--conf -0.1: must be in [0, 1]"),
    (E + ["--conf", "nan"], "--conf nan: must be in [0, 1]"),
    (E + ["--iou", "2"], "--iou 2: must be in [0, 1]"),
    (E + ["--iou", "-0.1"], "--iou -0.1: must be in [0, 1]"),
    (E + ["--max-det", "0"], "--max-det 0: must be >= 1"),
    (E + ["--max-det", "500", "--pre-nms-topk", "100"], "--max-det 500 > --pre-nms-topk 100"),
    (E + ["--max-det", "2000"], "--max-det 2000 > --pre-nms-topk 1000"),
    (E + ["--pre-nms-topk", "0"], "--pre-nms-topk 0: must be in [1, 3840]"),
    (E + ["--pre-nms-topk", "5000"], "--pre-nms-topk 5000: must be in [1, 3840]"),
    (Y + ["--nc", "0"], "--nc 0: must be >= 1"),
    (Y + ["--nc", "-3"], "--nc -3: must be >= 1"),
    (Y + ["--batch", "0"], "--batch 0: must be >= 1"),
    (Y + ["--max-batch", "0"], "--max-batch 0: must be >= 1"),
    (Y + ["--batch", "2", "--max-batch", "4"], "--batch and --max-batch: give one"),
    (Y + ["--workspace", "0"], "--workspace 0: must be >= 1"),
    (["build", "yolov8n", "--random-weights", "--imgsz", "0"], "--imgsz '0': sizes must be positive"),
    (["build", "yolov8n", "--random-weights", "--imgsz", "-32"], "--imgsz '-32': sizes must be positive"),
    (["build", "yolov8n", "--random-weights", "--imgsz", "abc"], "--imgsz 'abc': expected N or HxW"),
    (["build", "yolov8n", "--random-weights", "--imgsz", "1x2x3"], "--imgsz '1x2x3': expected N or HxW"),
    (["build", "yolov8n", "--random-weights", "--imgsz", "100"], "multiples of its stride 32; try --imgsz 128x128"),
    (["build", "centernet_dla34", "--random-weights", "--imgsz", "64x80"], "stride 32; try --imgsz 64x96"),
    (Y + ["--conf", "0.3"], "--conf: only with --end2end"),
    (Y + ["--iou", "0.3"], "--iou: only with --end2end"),
    (Y + ["--max-det", "10"], "--max-det: only with --end2end"),
    (Y + ["--pre-nms-topk", "10"], "--pre-nms-topk: only with --end2end"),
    (Y + ["--runtime-thresholds"], "--runtime-thresholds: only with --end2end"),
    (Y + ["--preprocess"], "--preprocess: only with --end2end"),
    (Y + ["--orig-size"], "--orig-size: only with --end2end"),
    (["build", "yolov8n", "--imgsz", "64"], "give --weights FILE (a checkpoint) or --random-weights"),
    (Y + ["--mask"], "--mask is for unet models, not 'yolov8n'"),
    (["build", "centernet_res18", "--random-weights", "--imgsz", "64", "--end2end", "--iou", "0.5"],
     "--iou and --pre-nms-topk are for YOLO models"),
    (["build", "yolov9n", "--random-weights"], "unknown model 'yolov9n': did you mean yolov8n"),
    (["build", "test_cli:nope", "--input", "x:1x3x8x8"], "'test_cli' has no attribute 'nope'"),
    (["build", "no_such_module_x:f", "--input", "x:1x3x8x8"], "cannot import 'no_such_module_x'"),
    (["build", "test_cli:ROOT", "--input", "x:1x3x8x8"], "'ROOT' is a str, not a factory to call"),
    (["build", "test_cli:torch_tiny_as_trt", "--input", "x:1x3x8x8"], "returned a torch.nn.Module; expected a trtnn"),
    (["build", "test_cli:tiny"], "give the network inputs with --input NAME:SHAPE"),
    (F + ["--imgsz", "64"], "--imgsz: for registered models only"),
    (F + ["--nc", "3"], "--nc: for registered models only"),
    (F + ["--mask"], "--mask: for registered models only"),
    (F + ["--random-weights"], "--random-weights: for registered models only"),
    (F + ["--end2end"], "--end2end is for the registered YOLO detection and CenterNet models"),
    (E + ["--input", "images:1x3x64x64"], "--input and --imgsz: give one"),
    (["build", "yolov8n", "--random-weights", "--end2end", "--input", "images:1x3x64x64"],
     "--end2end makes its inputs from --imgsz"),
    (["build", "test_cli:tiny", "--input", "x:1by3"], "shape must be integers joined by 'x'"),
    (["build", "test_cli:tiny", "--input", "x"], "--input 'x': expected NAME:SHAPE[:DTYPE]"),
    (["build", "test_cli:tiny", "--input", ":1x3"], "--input ':1x3': expected NAME:SHAPE[:DTYPE]"),
    (["build", "test_cli:tiny", "--input", "x:1x0x8x8"], "dimension 0 in '1x0x8x8'"),
    (["build", "test_cli:tiny", "--input", "x:1x3x-2x8"], "dimension -2 in '1x3x-2x8'"),
    (["build", "test_cli:tiny", "--input", "x:1x3x8x8:fp7"], "unsupported dtype 'fp7'"),
    (D, "input 'x' has dynamic shape -1x3x-1x-1: give --min x:SHAPE and --max x:SHAPE"),
    (D + ["--min", "x:1x3x8x8"], "give --min x:SHAPE and --max x:SHAPE"),
    (D + ["--min", "x:1x3x16x16", "--max", "x:2x3x8x8"], "input 'x' dim 2: need min <= opt <= max, got min 16, opt 8, "
                                                         "max 8"),
    (D + ["--min", "x:1x3x8x8", "--opt", "x:4x3x8x8", "--max", "x:2x3x8x8"], "input 'x' dim 0: need min <= opt <= "
                                                                            "max, got min 1, opt 4, max 2"),
    (D + ["--min", "y:1x3x8x8", "--max", "x:2x3x8x8"], "--min 'y:1x3x8x8': no input 'y'; inputs: x"),
    (D + ["--min", "x:1x3x8", "--max", "x:2x3x8x8"], "input 'x' has 4 dims (-1x3x-1x-1), got 3"),
    (D + ["--min", "x:1x4x8x8", "--max", "x:2x3x8x8"], "input 'x' dim 1 is fixed at 3, got 4"),
    (D + ["--min", "x:0x3x8x8", "--max", "x:2x3x8x8"], "dimension 0 in '0x3x8x8'"),
    (F + ["--min", "x:1x3x8x8"], "input 'x' is static (1x3x8x8)"),
    (["build", "test_cli:tiny", "--min", "x:1x3x8x8", "--input", "y:1x3x8x8"], "no input 'x'; inputs: y"),
    (Y + ["--min", "images:1x3x64x64"], "--imgsz and --min/--opt/--max: give one"),
    (["compare", "test_cli:tiny", "test_cli:tiny_torch", "--input", "x:1x3x8x8", "--rtol", "-1"], "--rtol -1: must "
                                                                                                   "be >= 0"),
    (["compare", "test_cli:tiny", "test_cli:tiny_torch", "--input", "x:-1x3x8x8"], "compare runs one shape"),
    (["compare", "test_cli:tiny", "test_cli:tiny", "--input", "x:1x3x8x8"], "TORCH_TARGET 'test_cli:tiny' returned a Tiny; expected a torch"),
    (["compare", "test_cli:torch_tiny_as_trt", "test_cli:tiny_torch", "--input", "x:1x3x8x8"], "expected a trtnn"),
    (["compare", "test_cli:Other", "test_cli:tiny_torch", "--input", "x:1x3x8x8"], "cannot copy test_cli:tiny_torch's "
                                                                                 "state_dict into test_cli:Other"),
    (["compare", "test_cli:tiny", "test_cli:tiny_torch"], "give the inputs with --input"),
    (["bench", "{tmp}/none.plan", "--iterations", "0"], "--iterations 0: must be >= 1"),
    (["bench", "{tmp}/none.plan"], "ENGINE '{tmp}/none.plan': no such file"),
]
BAD_FILES = [  # output paths and files, checked before anything is loaded or defined
    (Y + ["-o", "{tmp}/missing/y.plan"], "-o/--output '{tmp}/missing/y.plan': folder '{tmp}/missing' does not exist"),
    (Y + ["-o", "{tmp}"], "-o/--output '{tmp}' is a folder"),
    (["build", "yolov8n", "--weights", "{tmp}/w.pt", "-o", "{tmp}/w.pt"], "'{tmp}/w.pt' is the same file as"),
    (["build", "yolov8n", "--weights", "{tmp}/nope.pt", "-o", "{tmp}/y.plan"], "--weights '{tmp}/nope.pt': no such "
                                                                                "file"),
    (["build", "yolov8n", "--weights", "{tmp}/w.pt", "--random-weights", "-o", "{tmp}/y.plan"],
     "--weights and --random-weights: give one"),
    (Y + ["--ignore-keys", "x.*", "-o", "{tmp}/y.plan"], "--ignore-keys is for --weights"),
    (["convert", "{tmp}/w.pt", "{tmp}/missing/w.wts"], "DST '{tmp}/missing/w.wts': folder '{tmp}/missing' does not "
                                                      "exist"),
    (["convert", "{tmp}/w.pt", "{tmp}/w.pt"], "DST '{tmp}/w.pt' is the same file as '{tmp}/w.pt'"),
    (["convert", "{tmp}/w.pt", "{tmp}/w.onnx"], "'{tmp}/w.onnx': unknown extension '.onnx'"),
    (["convert", "{tmp}/nope.pt", "{tmp}/w.wts"], "SRC '{tmp}/nope.pt': no such file"),
    (["convert", "{tmp}", "{tmp}/w.wts"], "SRC '{tmp}' is a folder"),
    (["compare", "test_cli:tiny", "test_cli:tiny_torch", "--input", "x:1x3x8x8", "--json", "{tmp}/no/r.json"],
     "--json '{tmp}/no/r.json': folder '{tmp}/no' does not exist"),
    (["compare", "test_cli:tiny", "test_cli:tiny_torch", "--input", "x:1x3x8x8", "--weights", "{tmp}/w.pt",
      "--own-weights"], "--weights and --own-weights: give one"),
    (["compare", "test_cli:tiny", "test_cli:tiny_torch", "--input-file", "{tmp}/w.pt"], "--input-file '{tmp}/w.pt': "
                                                                                       "not a .npy array"),
]
for _argv, _msg in BAD:
    if _argv[0] == "build" and "-o" not in _argv:
        _argv += ["-o", "{tmp}/out.plan"]
IDS = [f"{i}-{' '.join(a[:2])}" for i, (a, _) in enumerate(BAD + BAD_FILES)]


@pytest.mark.parametrize("argv, message", BAD + BAD_FILES, ids=IDS)
def test_bad_arguments_are_refused_before_any_work(argv, message, tmp_path, capsys):
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "w.pt")
    before = snapshot(tmp_path)
    code, out, err = run_cli(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"trtnn {argv[0]}: error: "), err
    assert message.format(tmp=tmp_path) in lines[0]
    assert out == "" and snapshot(tmp_path) == before


def test_not_writable_folder(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    code, _, err = run_cli(capsys, *Y, "-o", ro / "y.plan")
    assert code == 2 and f"folder '{ro}' is not writable" in err and os.listdir(ro) == []


def test_argparse_errors_and_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["build", "yolov8n", "--conf", "x", "-o", "y.plan"])
    assert e.value.code == 2 and "argument --conf: invalid float value: 'x'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"trtnn {trtnn.__version__}"


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_before_and_after_the_command(where, capsys, monkeypatch):
    seen = {}

    def run(args):
        seen["verbose"] = args.verbose
        return 0

    monkeypatch.setattr("trtnn.cli.commands.info.run", run)
    argv = ["-v", "info"] if where == "before" else ["info", "-v"]
    cli.main(argv)
    assert seen == {"verbose": True}
    seen.clear()
    cli.main(["info"])
    assert seen == {"verbose": False}


# ---- interrupts and pipes -------------------------------------------------------------------------------------
def test_keyboard_interrupt_exits_130_with_one_line(tmp_path, capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("trtnn.cli.commands.build.prepare", interrupted)
    code, out, err = run_cli(capsys, *Y, "-o", tmp_path / "y.plan")
    assert code == 130 and err == "trtnn build: interrupted\n" and out == "" and os.listdir(tmp_path) == []


# trtnn.build cancels TensorRT's build on SIGINT through its IProgressMonitor and raises KeyboardInterrupt.
@pytest.mark.parametrize("terminal", [False, True], ids=["pipes", "terminal"])
def test_sigint_cancels_a_real_build(terminal, tmp_path):
    import pty

    plan = tmp_path / "x.plan"
    argv = [sys.executable, "-m", "trtnn.cli", "-v", "build", "yolov8x", "--random-weights", "--imgsz", "1280",
            "-o", str(plan)]
    env = {**os.environ, "PYTHONPATH": ROOT}
    if terminal:  # stderr on a terminal: TensorRT's progress bars are shown too
        master, slave = pty.openpty()
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)
        lines = _pty_lines(master)
    else:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        lines = iter(proc.stderr)
    err = []
    for line in lines:  # TensorRT's log (-v) says when its builder has started (a ~4 s build follows)
        err.append(line)
        if "network tensors" in line:
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, rest = proc.communicate(timeout=120)
    text = "".join(err) + ("".join(lines) if terminal else rest)
    ours = [line.strip() for line in text.replace("\r", "\n").splitlines()
            if line.strip().startswith("trtnn build")]  # not the log lines nor progress bars
    assert proc.returncode == 130, text
    assert ours == ["trtnn build: interrupted"] and "Traceback" not in text and not out
    assert os.listdir(tmp_path) == []  # no plan, no .x.plan.*.tmp


def _pty_lines(fd):
    """Lines read from a pty's master side until the other side closes."""
    buf = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.decode(errors="replace") + "\n"
    os.close(fd)
    if buf:
        yield buf.decode(errors="replace")


def test_inspect_piped_into_head_exits_quietly():
    cmd = (f"{sys.executable} -m trtnn.cli inspect yolov8n --random-weights --imgsz 64 | head -1; "
           "echo \"status ${PIPESTATUS[0]}\"")
    out = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.stdout.splitlines()[0].startswith("layer ") and out.stdout.splitlines()[-1] == "status 0"
    assert out.stderr == ""


# ---- what works -----------------------------------------------------------------------------------------------
def test_dynamic_shapes_for_a_factory_target(tmp_path, capsys):
    code, out, err = run_cli(capsys, "build", "test_cli:tiny", "--input", "x:-1x3x-1x-1", "--min", "x:1x3x8x8",
                             "--opt", "x:2x3x16x16", "--max", "x:4x3x32x32", "-o", tmp_path / "d.plan")
    assert code == 0, err
    assert "input  x: -1x3x-1x-1 fp32" in out and "output output: -1x4x-1x-1 fp32" in out
    assert "range  x: min 1x3x8x8  opt 2x3x16x16  max 4x3x32x32" in out
    code, out, err = run_cli(capsys, "inspect", "test_cli:tiny", "--input", "x:-1x3x8x8", "--min", "x:1x3x8x8",
                             "--max", "x:4x3x8x8")
    assert code == 0 and "dynamic input x: min 1x3x8x8  opt 4x3x8x8  max 4x3x8x8" in out  # --opt defaults to --max


@pytest.mark.parametrize("name, kwargs, out", [
    ("yolov8n", {"nc": 3}, "output output: 1x7x21 fp32"),
    ("yolo11n", {"nc": 2}, "output output: 1x6x21 fp32"),
    ("yolov5n", {"nc": 3}, "output output: 1x63x8 fp32"),
    ("unet_bilinear", {"n_classes": 3, "n_channels": 1}, "output output: 1x3x32x32 fp32"),
    ("centernet_res18", {"num_classes": 3}, "output hm: 1x3x8x8 fp32"),
])
def test_wts_round_trip_for_every_family(name, kwargs, out, tmp_path, capsys):
    save_checkpoint(models.get(name)(**kwargs).state_dict(), str(tmp_path / "m.pt"))
    assert run_cli(capsys, "convert", tmp_path / "m.pt", tmp_path / "m.wts")[0] == 0
    code, stdout, err = run_cli(capsys, "build", name, "--weights", tmp_path / "m.wts", "--imgsz", "32",
                                "-o", tmp_path / "m.plan")
    assert code == 0, err
    assert out in stdout and (tmp_path / "m.plan").stat().st_size > 0


def test_centernet_training_checkpoint_with_the_imagenet_classifier(tmp_path, capsys, caplog):
    state = models.get("centernet_dla34")(num_classes=2).state_dict()
    state.update({"base.fc.weight": torch.zeros(1000, 512, 1, 1), "base.fc.bias": torch.zeros(1000)})
    torch.save({"epoch": 1, "state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "ctdet.pth")
    argv = ["inspect", "centernet_dla34", "--weights", tmp_path / "ctdet.pth", "--imgsz", "64"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert "hm: 1x2x16x16 fp32" in out
    assert "ignoring" not in caplog.text  # base.fc is the model's own key now (as the original DLASeg's)
    assert models.from_checkpoint("centernet_dla34", str(tmp_path / "ctdet.pth")).heads == {"hm": 2, "wh": 2,
                                                                                            "reg": 2}
    # another unknown key: refused by the strict load, dropped with --ignore-keys
    state["extra.thing"] = torch.zeros(3)
    torch.save(state, tmp_path / "extra.pth")
    argv[3] = tmp_path / "extra.pth"
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and "unexpected keys (1): extra.thing" in err
    code, out, err = run_cli(capsys, *argv, "--ignore-keys", "extra.*")
    assert code == 0, err


def test_compare_copies_the_torch_weights_by_default(capsys):
    argv = ["compare", "test_cli:tiny", "test_cli:tiny_torch", "--input", "x:1x3x8x8"]
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0 and out.splitlines()[-1].startswith("PASS")
    code, out, _ = run_cli(capsys, *argv, "--own-weights")  # two random inits
    assert code == 1 and out.splitlines()[-1].startswith("FAIL")
