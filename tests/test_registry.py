"""The model registry and the task specs: every registered model has its TaskSpec (outputs with meanings, image
input, host preprocessing), the registry stays live after register(), and the sidecar's meanings come from the spec."""
from __future__ import annotations

import pytest

import trtnn
from trtnn import models
from trtnn.models.registry import SPECS, ModelSpec
from trtnn.models.vision import PREPROCESS


def test_every_registered_model_has_a_task_spec():
    for name, s in models.SPECS.items():
        task = s.task
        assert task.name in {"detect", "segment", "pose", "obb", "classify", "semantic-segment"}, name
        assert task.raw_outputs and all(task.raw_outputs.values()), name
        assert task.image_input.startswith("image batch, "), name
        assert task.preprocess in PREPROCESS.values(), name
        if s.end2end is not None:
            assert {"num_dets", "det_boxes"} <= set(task.outputs) or "probs" in task.outputs, name


@pytest.mark.parametrize("name, word", [("yolo26n", "x1, y1, x2, y2"), ("yolov10s", "x1, y1, x2, y2"),
                                        ("yolo26n-pose", "x1, y1, x2, y2"), ("yolo26n-seg", "x1, y1, x2, y2"),
                                        ("yolov8n", "cx, cy, w, h"), ("yolo11n-pose", "cx, cy, w, h")])
def test_raw_output_meanings_follow_the_branch(name, word):
    """The NMS-free families' raw output is the one-to-one branch (x1y1x2y2); the others' xywh."""
    meaning = next(iter(models.spec(name).task.raw_outputs.values()))
    assert word in meaning


def test_models_mapping_is_live_after_register():
    spec = ModelSpec(family="tiny", variants={"tiny_model_test": lambda: None}, task=models.spec("unet").task,
                     config_from_state_dict=dict, with_classes=lambda kw, nc: kw, num_classes=lambda m: 1,
                     imgsz=(8, 8))
    try:
        models.register(spec)
        assert "tiny_model_test" in models.MODELS and models.MODELS["tiny_model_test"] is spec.variants["tiny_model_test"]
        assert len(models.MODELS) == len(SPECS)
        with pytest.raises(trtnn.ConfigError, match="names already registered: tiny_model_test"):
            models.register(spec)
    finally:
        SPECS.pop("tiny_model_test", None)
    assert "tiny_model_test" not in models.MODELS


def test_sidecar_meanings_from_the_spec():
    s = models.spec("yolov8n-seg")
    e2e, raw = models.sidecar_meanings(s, True), models.sidecar_meanings(s, False)
    assert e2e["images"].startswith("image batch, letterboxed") and "det_masks" in e2e and "orig_size" in e2e
    assert set(raw) == {"images", "output0", "output1"}
    assert "resized to imgsz" in models.sidecar_meanings(models.spec("unet"), False)["input"]
    assert "centre-cropped" in models.spec("yolov8n-cls").task.image_input


def test_tasks_resolved_by_the_registry_not_by_name():
    """The model of another task is found by lineage and scale (no name suffix arithmetic)."""
    s = models.spec("yolov10b")
    assert (s.lineage, s.scales["yolov10b"], s.task.name) == ("yolov10", "b", "detect")
    assert models.spec("yolo26x-obb").family == "yolo26-obb" and models.spec("yolo26x-obb").scales["yolo26x-obb"] == "x"


def test_create_applies_nc_and_mask():
    unet = models.create("unet", nc=3, mask=True)
    assert unet.n_classes == 3 and unet.output == "mask"
    with pytest.raises(trtnn.ConfigError, match="yolov8n: no mask output"):
        models.create("yolov8n", mask=True)


@pytest.mark.parametrize("factory, params", [("resnet18", 11_689_512), ("resnet34", 21_797_672),
                                             ("resnet50", 25_557_032), ("resnet101", 44_549_160)])
def test_torchvision_resnets_have_torchvisions_parameter_counts(factory, params):
    model = getattr(models.resnet, factory)()
    assert sum(p.numel() for p in model.parameters()) == params  # torchvision's documented counts
