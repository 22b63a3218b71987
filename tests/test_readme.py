"""The README's example and CLI commands work as written."""
import os
import re
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = open(os.path.join(ROOT, "README.md")).read()


def test_readme_python_example_runs(tmp_path):
    code = re.findall(r"```python\n(.*?)```", README, re.S)[0]
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "outputs=[output: 1x16x112x112 fp32]" in out.stdout
    assert (tmp_path / "net.plan").stat().st_size > 0


def test_readme_main_job(tmp_path):
    cmd = re.search(r"^(trtnn build examples\.resnet:resnet18 .*)$", README, re.M).group(1)
    args = cmd.split()[1:]
    args[args.index("-o") + 1] = str(tmp_path / "resnet18.plan")
    out = subprocess.run([sys.executable, "-m", "trtnn.cli", *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert "output output: 1x1000 fp32" in out.stdout
    assert (tmp_path / "resnet18.plan").stat().st_size > 10_000_000  # fp16 weights of 11.7M parameters


def test_cli_errors_are_clear():
    out = subprocess.run([sys.executable, "-m", "trtnn.cli", "build", "yolov8n", "-o", "x.plan"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "give --weights FILE (a checkpoint) or --random-weights" in out.stderr
    out = subprocess.run([sys.executable, "-m", "trtnn.cli", "build", "examples.resnet:resnet18", "--input", "x:1by3",
                          "-o", "x.plan"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and "shape must be integers joined by 'x'" in out.stderr


def test_cli_info_json():
    out = subprocess.run([sys.executable, "-m", "trtnn.cli", "info", "--json"], capture_output=True, text=True)
    assert out.returncode == 0
    assert '"backend": "tensorrt_rtx"' in out.stdout or '"backend": "tensorrt"' in out.stdout


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "trtnn.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_cli_end2end_yolo_and_unet_mask(tmp_path):
    out = _cli("build", "yolov8n", "--random-weights", "--imgsz", "160", "--end2end", "--preprocess", "--orig-size",
               "--runtime-thresholds", "--max-det", "50", "-o", str(tmp_path / "y.plan"))
    assert out.returncode == 0, out.stderr
    for line in ("input  images: 1x160x160x3 uint8", "input  orig_size: 1x2 int32", "output num_dets: 1x1 int32",
                 "output det_boxes: 1x50x4 fp32", "output det_scores: 1x50 fp32", "output det_classes: 1x50 int32"):
        assert line in out.stdout
    out = _cli("build", "yolov5n", "--random-weights", "--imgsz", "64x96", "--end2end", "--preprocess", "nchw-rgb",
               "-o", str(tmp_path / "y5.plan"))
    assert out.returncode == 0, out.stderr
    assert "input  images: 1x3x64x96 uint8" in out.stdout and "output det_boxes: 1x1000x4 fp32" in out.stdout
    out = _cli("build", "unet", "--random-weights", "--imgsz", "33x47", "--nc", "3", "--mask", "-o",
               str(tmp_path / "u.plan"))
    assert out.returncode == 0, out.stderr
    assert "output logits: 1x3x33x47 fp32" in out.stdout and "output mask: 1x33x47 int32" in out.stdout
    out = _cli("build", "unet", "--random-weights", "--imgsz", "32", "--max-batch", "4", "-o", str(tmp_path / "d.plan"))
    assert out.returncode == 0, out.stderr
    assert "input  input: -1x3x32x32 fp32" in out.stdout and "output output: -1x2x32x32 fp32" in out.stdout


def test_cli_convert_and_inspect(tmp_path):
    import torch

    torch.save({"conv.weight": torch.ones(2, 3, 1, 1)}, tmp_path / "a.pt")
    out = _cli("convert", str(tmp_path / "a.pt"), str(tmp_path / "a.wts"))
    assert out.returncode == 0 and "1 tensors" in out.stdout
    assert (tmp_path / "a.wts").read_text().splitlines()[0] == "1"
    out = _cli("inspect", "yolov5n", "--random-weights", "--imgsz", "64", "--json")
    assert out.returncode == 0, out.stderr
    import json

    layers = json.loads(out.stdout)
    assert layers[0]["name"] == "model.0.conv + model.0.bn" and layers[0]["shape"] == "1x16x32x32"
