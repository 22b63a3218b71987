"""Pose and classify in the registry and the CLI: configuration read off checkpoints, the task table refusing another
task's checkpoint, `trtnn build yolov8n-pose --end2end` and `trtnn build yolov8n-cls --end2end` engines."""
import pytest
import torch

import trtnn
from harness import run_cli, save_ultralytics_pt
from trtnn import models
from trtnn.models.registry import TASKS, checkpoint_task, other_task_model


@pytest.mark.parametrize("name, kwargs, want", [
    ("yolov8n-pose", {"nc": 1}, {"nc": 1, "kpt_shape": (17, 3)}),
    ("yolo11n-pose", {"nc": 3, "kpt_shape": (5, 2)}, {"nc": 3, "kpt_shape": (5, 2)}),
    ("yolo26n-pose", {"nc": 2, "kpt_shape": (6, 2)}, {"nc": 2, "kpt_shape": (6, 2)}),  # K from the 2K sigmas
    ("yolov8n-cls", {"nc": 7}, {"nc": 7}),
    ("yolo26n-cls", {"nc": 3}, {"nc": 3}),
    ("yolo11n-cls", {"nc": 1000}, {"nc": 1000}),
])
def test_config_read_off_shaped_and_flat_state_dicts(name, kwargs, want):
    state = models.get(name)(**kwargs).state_dict()
    s = models.spec(name)
    assert s.config_from_state_dict(state) == want
    assert s.config_from_state_dict({k: v.reshape(-1) for k, v in state.items()}) == want  # as .wts holds them


def test_specs():
    assert models.spec("yolo11x-pose").end2end_defaults == {"conf": 0.25, "iou": 0.7, "max_det": 300,
                                                            "pre_nms_topk": 1000}
    assert models.spec("yolov8m-cls").imgsz == (224, 224) and models.spec("yolov8m-cls").end2end_defaults == {"src_size": None}
    assert models.get("yolov8n-pose")().model[-1].nc == 1 and models.get("yolo11n-pose")().model[-1].nc == 80


def _synthetic(*keys_and_channels):
    return {k: torch.zeros(c) for k, c in keys_and_channels}


HEADS = {  # a checkpoint's head keys (with their output channels) -> its task suffix
    "detection": (_synthetic(("model.22.cv3.0.2.bias", 80), ("model.22.cv2.0.2.bias", 64)), ""),
    "seg": (_synthetic(("model.22.cv3.0.2.bias", 80), ("model.22.cv4.0.2.bias", 32),
                       ("model.22.proto.cv1.conv.weight", 64)), "-seg"),
    "pose v8/11": (_synthetic(("model.22.cv3.0.2.bias", 1), ("model.22.cv4.0.2.bias", 51)), "-pose"),
    "pose 26": (_synthetic(("model.23.cv3.0.2.bias", 80), ("model.23.cv4_kpts.0.bias", 51),
                           ("model.23.cv4_sigma.0.bias", 34)), "-pose"),
    "obb": (_synthetic(("model.22.cv3.0.2.bias", 15), ("model.22.cv4.0.2.bias", 1)), "-obb"),
    "cls": (_synthetic(("model.9.conv.conv.weight", 1280), ("model.9.linear.bias", 1000)), "-cls"),
}


@pytest.mark.parametrize("head", list(HEADS))
def test_task_table_tells_the_heads_apart(head):
    state, suffix = HEADS[head]
    assert checkpoint_task(state).suffix == suffix
    assert checkpoint_task({"inc.double_conv.0.weight": torch.zeros(3)}) is None  # not a YOLO checkpoint
    assert {t.suffix for t in TASKS} == {"-seg", "-pose", "-obb", "-cls"}


@pytest.mark.parametrize("name, head, want", [
    ("yolov8n", "pose v8/11", ("yolov8n-pose", "pose")),
    ("yolo11s-pose", "cls", ("yolo11s-cls", "classification")),
    ("yolov8x-cls", "detection", ("yolov8x", "detection")),
    ("yolo11n-seg", "pose v8/11", ("yolo11n-pose", "pose")),
    ("yolov8n-pose", "seg", ("yolov8n-seg", "segmentation")),
    ("yolov8n-pose", "pose v8/11", (None, "")),  # the right task
    ("yolov5s", "cls", (None, "")),  # no yolov5s-cls registered: strict loading reports the keys
])
def test_other_task_model(name, head, want):
    assert other_task_model(HEADS[head][0], name) == want


def test_from_checkpoint_reads_nc_and_kpt_shape(tmp_path):
    ref = models.get("yolo11n-pose")(nc=2, kpt_shape=(4, 3))
    trtnn.save_checkpoint(ref.state_dict(), str(tmp_path / "p.pt"))
    model = models.from_checkpoint("yolo11n-pose", str(tmp_path / "p.pt"))
    assert model.model[-1].nc == 2 and model.model[-1].kpt_shape == (4, 3)
    with pytest.raises(trtnn.ConfigError, match="yolo11n: the checkpoint holds a pose model; use yolo11n-pose"):
        models.from_checkpoint("yolo11n", str(tmp_path / "p.pt"))


@pytest.mark.parametrize("argv, outputs", [
    (["yolov8n-pose", "--end2end", "--preprocess", "--orig-size", "--runtime-thresholds", "--max-det", "20"],
     ["input  images: -1x64x64x3 uint8", "input  orig_size: -1x2 int32", "output det_keypoints: -1x20x17x3 fp32",
      "output num_dets: -1x1 int32"]),
    (["yolov8n-cls", "--end2end", "--preprocess", "--nc", "10"],
     ["input  images: -1x64x64x3 uint8", "output probs: -1x10 fp32", "output top5_classes: -1x5 int32",
      "output top5_scores: -1x5 fp32"]),
    (["yolov8n-cls", "--end2end", "--preprocess", "--src-size", "48x80", "--nc", "3"],
     ["input  images: -1x48x80x3 uint8", "output probs: -1x3 fp32", "output top5_classes: -1x3 int32"]),
    (["yolo26n-pose", "--end2end", "--preprocess", "--orig-size"],
     ["input  images: -1x64x64x3 uint8", "output det_keypoints: -1x300x17x3 fp32", "output num_dets: -1x1 int32"]),
    (["yolo26n-pose", "--end2end", "--head", "one2many", "--iou", "0.6"], ["output det_keypoints: -1x300x17x3 fp32"]),
], ids=["pose", "cls", "cls-resize", "yolo26-pose", "yolo26-pose-one2many"])
def test_build_end2end_engines(argv, outputs, tmp_path, capsys):
    """TensorRT-RTX builds the end-to-end engines: fp16, a dynamic batch."""
    code, out, err = run_cli(capsys, "build", *argv, "--random-weights", "--imgsz", "64", "--max-batch", "2",
                             "--dtype", "fp16", "-o", tmp_path / "e.plan")
    assert code == 0, err
    assert all(o in out for o in outputs), out
    assert (tmp_path / "e.plan").stat().st_size > 0


def test_ultralytics_pose_checkpoint(tmp_path, capsys):
    """nc and kpt_shape read off a pickled ultralytics pose model; the detection name is refused naming the pose one;
    the end-to-end engine builds."""
    ckpt = tmp_path / "pose.pt"
    save_ultralytics_pt(ckpt, 'yolov8_pose("n", nc=2, kpt_shape=(5, 3))', "Pose")
    model = models.from_checkpoint("yolov8n-pose", str(ckpt))
    assert model.model[-1].nc == 2 and model.model[-1].kpt_shape == (5, 3)
    code, out, err = run_cli(capsys, "build", "yolov8n", "--weights", ckpt, "--imgsz", "64", "-o", tmp_path / "d.plan")
    assert code == 2 and "yolov8n: the checkpoint holds a pose model; use yolov8n-pose" in err
    code, out, err = run_cli(capsys, "build", "yolov8n-pose", "--weights", ckpt, "--imgsz", "64", "--end2end",
                             "-o", tmp_path / "p.plan")
    assert code == 0, err
    assert "output det_keypoints: 1x300x5x3 fp32" in out and not (tmp_path / "d.plan").exists()
