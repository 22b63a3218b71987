"""A user's flow: an ultralytics-style yolov8 .pt (pickled whole fp16 modules, ultralytics NOT importable here),
`trtnn build yolov8n --weights it.pt` reads the class count from it, and the network equals the original model."""
import os
import subprocess
import sys

import torch

import trtnn
from harness import rel_err, save_ultralytics_pt
from trtnn.reference import Executor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ultralytics_checkpoint_to_engine(tmp_path):
    ckpt = str(tmp_path / "yolov8n.pt")
    save_ultralytics_pt(ckpt, 'yolov8("n", nc=3)', "Detect")
    out = subprocess.run([sys.executable, "-m", "trtnn.cli", "build", "yolov8n", "--weights", ckpt, "--imgsz", "64",
                          "-o", str(tmp_path / "y.plan")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "output output: 1x7x84 fp32" in out.stdout  # nc = 3 read from the checkpoint

    import refmodels

    state = trtnn.load_checkpoint(ckpt)  # what ultralytics does: (ema or model).float().state_dict()
    ref = refmodels.yolov8("n", nc=3).eval()
    ref.load_state_dict(state)
    mine = trtnn.models.get("yolov8n")(nc=3)
    mine.load_state_dict(state)
    x = torch.rand(1, 3, 64, 96)
    got = Executor(trtnn.define(mine, [trtnn.Input("images", tuple(x.shape))]))({"images": x})["output"]
    with torch.inference_mode():
        want = ref(x)
    want = want[0] if isinstance(want, (tuple, list)) else want
    assert got.shape == want.shape == (1, 7, 126)
    assert rel_err(got, want) <= 1e-5


def test_unet_checkpoint_from_milesial_training_script(tmp_path):
    """milesial's train.py saves the state_dict plus `mask_values`; the class count comes from the weights."""
    import refmodels

    state = refmodels.unet(3, 1, True).state_dict()
    state["mask_values"] = [0, 1]
    ckpt = str(tmp_path / "checkpoint_epoch5.pth")
    torch.save(state, ckpt)
    out = subprocess.run([sys.executable, "-m", "trtnn.cli", "build", "unet_bilinear", "--weights", ckpt, "--imgsz",
                          "45x67", "--mask", "-o", str(tmp_path / "u.plan")], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "output logits: 1x1x45x67 fp32" in out.stdout and "output mask: 1x1x45x67 int32" in out.stdout
    out = subprocess.run([sys.executable, "-m", "trtnn.cli", "build", "unet", "--weights", ckpt, "-o",
                          str(tmp_path / "v.plan")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2  # bilinear weights into the transposed-conv UNet: a clear strict-loading error
    assert "missing keys" in out.stderr and "up1.up.weight" in out.stderr
