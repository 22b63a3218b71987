"""Every example script builds its engine (small input sizes to keep it quick)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RUNS = {
    "unet": ["--imgsz", "37", "53", "--classes", "1", "--bilinear"],
    "yolov8": ["--imgsz", "96", "128", "--end2end"],
    "yolo11": ["--imgsz", "64", "64"],
    "yolov5": ["--scale", "n", "--nc", "3", "--imgsz", "64", "96", "--end2end"],
    "centernet": ["--arch", "dla34", "--imgsz", "64", "96", "--end2end"],
}
OUTPUT = {
    "unet": "outputs=[logits: 1x1x37x53 fp32, mask: 1x1x37x53 int32]",
    "yolov8": "det_boxes: 1x300x4 fp32",
    "yolo11": "outputs=[output0: 1x84x84 fp32]",
    "yolov5": "det_boxes: 1x1000x4 fp32",
    "centernet": "det_boxes: 1x100x4 fp32",
}


@pytest.mark.parametrize("name", list(RUNS))
def test_example_builds(name, tmp_path):
    out = tmp_path / f"{name}.engine"
    res = subprocess.run([sys.executable, os.path.join(ROOT, "examples", f"{name}.py"), *RUNS[name], "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert OUTPUT[name] in res.stdout, res.stdout
    assert out.stat().st_size > 100_000
