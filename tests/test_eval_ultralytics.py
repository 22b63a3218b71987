"""trtnn.eval scores ultralytics' own validation exactly: the predictions and ground truth ultralytics 8.4.190's
validator saw on the shapes val images (recorded by tools/ultralytics_val_dump.py) give the figures it reported."""
import os

import numpy as np
import pytest

from trtnn.eval import DetectionMetrics
from trtnn.eval.segmentation import SegmentationMetrics

DATA = os.path.join(os.path.dirname(__file__), "data", "ultralytics_val")


def recorded(name: str):
    """Per image dicts from the recorded .npz, and the figures ultralytics reported."""
    z = np.load(os.path.join(DATA, name + ".npz"))
    cut_pred, cut_gt = np.cumsum(z["n_pred"])[:-1], np.cumsum(z["n_gt"])[:-1]
    per_pred = {k: np.split(z[k], cut_pred) for k in ("boxes", "conf", "cls")}
    per_gt = {k: np.split(z[k], cut_gt) for k in ("gt", "gt_cls")}
    for key, cut in (("masks", cut_pred), ("gt_masks", cut_gt)):
        if key in z:
            hw = tuple(z[key + "_hw"])
            bits = np.unpackbits(z[key], axis=1, count=hw[0] * hw[1]).astype(bool)
            (per_pred if key == "masks" else per_gt)[key] = np.split(bits.reshape((-1,) + hw), cut)
    images = [{k: v[i] for k, v in {**per_pred, **per_gt}.items()} for i in range(len(z["files"]))]
    return images, {k: float(z[k]) for k in z.files if k.endswith(("_map", "_map50"))}


def test_box_map_equals_ultralytics_val():
    images, reported = recorded("yolov8n_shapes")
    metrics = DetectionMetrics(nc=3)
    for im in images:
        metrics.update(im["boxes"], im["conf"], im["cls"], im["gt"], im["gt_cls"])
    r = metrics.results()
    assert len(images) == 300 and r["detections"] == 1655
    assert r["mAP50-95"] == pytest.approx(reported["box_map"], abs=1e-12) == pytest.approx(0.96451822, abs=1e-8)
    assert r["mAP50"] == pytest.approx(reported["box_map50"], abs=1e-12)


@pytest.mark.parametrize("name, mask_map", [("yolov8n-seg_shapes", 0.85557031), ("yolo11n-seg_shapes", 0.82488570)])
def test_mask_map_equals_ultralytics_val(name, mask_map):
    images, reported = recorded(name)
    metrics = SegmentationMetrics(nc=3)
    for im in images:
        metrics.update(im["boxes"], im["conf"], im["cls"], im["masks"], im["gt"], im["gt_cls"], im["gt_masks"])
    r = metrics.results()
    assert r["box"]["mAP50-95"] == pytest.approx(reported["box_map"], abs=1e-12)
    assert r["mask"]["mAP50-95"] == pytest.approx(reported["mask_map"], abs=1e-12) == pytest.approx(mask_map, abs=1e-8)
    assert r["mask"]["mAP50"] == pytest.approx(reported["mask_map50"], abs=1e-12)
