"""The engine sidecar (<engine>.json): checkpoint metadata read safely, written by `trtnn build` and Engine.save."""
from __future__ import annotations

import json
import os
import sys

import pytest
import torch

from harness import run_cli
import trtnn
import trtnn.nn as nn
from test_checkpoint import _fake_ultralytics
from trtnn.io.checkpoint import read_metadata
from trtnn.models.centernet import CtdetEnd2End
from trtnn.models.yolo.tasks import End2End
from trtnn.models.vision import Preprocess
from trtnn.io.sidecar import SCHEMA, engine_metadata, read_names, sidecar_path
from trtnn.models import describe_model, spec

CKPT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "yolov8n_shapes.pt")
needs_ckpt = pytest.mark.skipif(not os.path.exists(CKPT), reason=f"needs the project's shared data ({CKPT})")


def fake_ultralytics_file(path) -> None:
    DetectionModel, modules = _fake_ultralytics()
    try:
        model = DetectionModel()
        model.stride = torch.tensor([8.0, 16.0])
        torch.save({"version": "8.1.0", "model": model.half(), "ema": None,
                    "train_args": {"imgsz": 640, "task": "detect"}}, path)
    finally:
        for n in modules:
            sys.modules.pop(n, None)


def test_read_metadata_of_a_synthetic_ultralytics_file(tmp_path):
    fake_ultralytics_file(tmp_path / "y.pt")
    assert read_metadata(tmp_path / "y.pt") == {"names": {0: "person", 1: "bicycle"}, "task": "detect",
                                                "imgsz": 640, "stride": [8, 16], "ultralytics_version": "8.1.0"}


def test_read_metadata_of_files_without_any(tmp_path):
    state = {"w": torch.zeros(2)}
    for name in ("s.pt", "s.safetensors", "s.npz"):
        trtnn.save_checkpoint(state, tmp_path / name)
        assert read_metadata(tmp_path / name) == {}
    with pytest.raises(trtnn.CheckpointError, match="not found: '.*nothere.pt'"):
        read_metadata(tmp_path / "nothere.pt")


@needs_ckpt
def test_read_metadata_of_the_real_checkpoint():
    meta = read_metadata(CKPT)
    assert meta["names"] == {0: "circle", 1: "rectangle", 2: "triangle"}
    assert (meta["task"], meta["imgsz"], meta["stride"], meta["yaml"]) == ("detect", 320, [8, 16, 32], "yolov8n.yaml")


def test_read_names_text_and_json(tmp_path):
    (tmp_path / "n.txt").write_text("cat\n\ndog\n")
    (tmp_path / "l.json").write_text('["cat", "dog"]')
    (tmp_path / "d.json").write_text('{"1": "dog", "0": "cat"}')
    for name in ("n.txt", "l.json", "d.json"):
        assert read_names(tmp_path / name) == {0: "cat", 1: "dog"}


def test_describe_model_end2end_and_raw():
    yolo = trtnn.models.yolov8("n", nc=3)
    e2e = End2End(yolo, conf=0.4, iou=0.6, max_det=50, preprocess=Preprocess("NHWC", bgr=True), runtime_thresholds=True)
    assert describe_model(e2e, spec("yolov8n")) == {"nc": 3, "preprocess": "NHWC BGR", "thresholds": {
        "conf": 0.4, "iou": 0.6, "max_det": 50, "pre_nms_topk": 1000, "runtime": True}}
    assert describe_model(yolo, spec("yolov8n")) == {"nc": 3, "preprocess": None, "thresholds": None}
    ctdet = CtdetEnd2End(trtnn.models.get("centernet_res18")(heads={"hm": 5, "wh": 2, "reg": 2}), K=20, conf=0.2)
    assert describe_model(ctdet, spec("centernet_res18")) == {"nc": 5, "preprocess": None,
                                     "thresholds": {"conf": 0.2, "max_det": 20, "runtime": False}}
    assert describe_model(trtnn.models.get("unet")(n_classes=4), spec("unet"))["nc"] == 4
    assert describe_model(yolo)["nc"] is None  # no spec, no guessing


class Tiny(trtnn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


def test_engine_save_writes_the_sidecar(tmp_path):
    model = Tiny()
    engine = trtnn.build(model, [trtnn.Input("x", (1, 3, 8, 8))])
    meta = engine_metadata(engine, describe_model(model), names={0: "a", 1: "b"}, precision="fp32", note="mine")
    engine.save(str(tmp_path / "t.plan"), metadata=meta)
    assert sorted(os.listdir(tmp_path)) == ["t.plan", "t.plan.json"]
    got = json.loads((tmp_path / "t.plan.json").read_text())
    assert got["schema"] == SCHEMA and got["trtnn_version"] == trtnn.__version__ and got["backend"] == engine.backend
    assert got["names"] == {"0": "a", "1": "b"} and got["note"] == "mine" and "thresholds" not in got
    assert got["inputs"] == [{"name": "x", "shape": [1, 3, 8, 8], "dtype": "fp32", "meaning": "",
                              "layout": "NCHW fp32 (preprocessed by the caller)"}]
    assert [(o["name"], o["shape"]) for o in got["outputs"]] == [(engine.outputs[0].name, [1, 4, 8, 8])]
    assert engine_metadata(engine, describe_model(model))["names"] == {}  # no class count: no names
    with pytest.raises(trtnn.ConfigError, match=r"t2.plan.json.*not JSON-serializable"):
        engine.save(str(tmp_path / "t2.plan"), metadata={"bad": object()})
    assert not os.path.exists(tmp_path / "t2.plan")  # refused before the plan was written


@needs_ckpt
def test_cli_build_sidecar_from_the_real_checkpoint(tmp_path, capsys):
    out = tmp_path / "y.plan"
    code, stdout, _ = run_cli(capsys, "build", "yolov8n", "--weights", CKPT, "--imgsz", "64", "--end2end",
                              "--preprocess", "--conf", "0.3", "--max-det", "20", "-o", out)
    assert code == 0 and str(sidecar_path(out)) in stdout
    meta = json.loads((tmp_path / "y.plan.json").read_text())
    assert meta["names"] == {"0": "circle", "1": "rectangle", "2": "triangle"}
    assert (meta["task"], meta["imgsz"], meta["stride"], meta["precision"]) == ("detect", [64, 64], 32, "fp32")
    assert meta["thresholds"] == {"conf": 0.3, "iou": 0.7, "max_det": 20, "pre_nms_topk": 1000, "runtime": False}
    assert meta["inputs"][0]["layout"] == "NHWC BGR uint8 (normalized inside the engine)"
    assert meta["inputs"][0]["shape"] == [1, 64, 64, 3] and "letterboxed" in meta["inputs"][0]["meaning"]
    assert [(o["name"], o["shape"], o["dtype"]) for o in meta["outputs"]] == [
        ("num_dets", [1, 1], "int32"), ("det_boxes", [1, 20, 4], "fp32"), ("det_scores", [1, 20], "fp32"),
        ("det_classes", [1, 20], "int32")]
    assert "index into names" in meta["outputs"][3]["meaning"]
    assert meta["source"]["weights"] == "yolov8n_shapes.pt" and meta["source"]["ultralytics_version"] == "8.4.190"


def test_cli_build_sidecar_names_default_and_override(tmp_path, capsys):
    assert run_cli(capsys, "build", "yolov8n", "--random-weights", "--nc", "2", "--imgsz", "64", "-o",
                   tmp_path / "a.plan")[0] == 0
    meta = json.loads((tmp_path / "a.plan.json").read_text())
    assert meta["names"] == {"0": "0", "1": "1"} and meta["task"] == "detect" and "thresholds" not in meta
    assert meta["outputs"][0]["name"] == "output" and "4 + nc" in meta["outputs"][0]["meaning"]
    (tmp_path / "n.txt").write_text("cat\ndog\n")
    assert run_cli(capsys, "build", "yolov8n", "--random-weights", "--nc", "2", "--imgsz", "64", "--names",
                   tmp_path / "n.txt", "-o", tmp_path / "b.plan")[0] == 0
    assert json.loads((tmp_path / "b.plan.json").read_text())["names"] == {"0": "cat", "1": "dog"}


@pytest.mark.parametrize("model, task, outputs, thresholds", [
    ("yolov8n-seg", "segment", ["num_dets", "det_boxes", "det_scores", "det_classes", "det_masks"], "iou"),
    ("yolov8n-pose", "pose", ["num_dets", "det_boxes", "det_scores", "det_classes", "det_keypoints"], "iou"),
    ("yolov8n-obb", "obb", ["num_dets", "det_boxes", "det_scores", "det_classes"], "iou"),
    ("yolov8n-cls", "classify", ["probs", "top5_classes", "top5_scores"], None),
    ("yolo26n", "detect", ["num_dets", "det_boxes", "det_scores", "det_classes"], "max_det"),
])
def test_cli_build_sidecar_of_every_task(tmp_path, capsys, model, task, outputs, thresholds):
    """Each task's end-to-end engine names its task and documents every output (its TaskSpec)."""
    assert run_cli(capsys, "build", model, "--random-weights", "--nc", "2", "--imgsz", "64", "--end2end", "-o",
                   tmp_path / "t.plan")[0] == 0
    meta = json.loads((tmp_path / "t.plan.json").read_text())
    assert meta["task"] == task and [o["name"] for o in meta["outputs"]] == outputs
    assert all(o["meaning"] for o in meta["outputs"]), meta["outputs"]
    assert (thresholds in meta["thresholds"]) if thresholds else "thresholds" not in meta
    if task == "obb":
        assert "cx, cy, w, h, angle" in meta["outputs"][1]["meaning"]
