"""trtnn.eval.segmentation (mask mAP as ultralytics 8.4's validator) and the real YOLOv8n-seg checkpoint's end-to-end
masks on real validation images (skipped without ../shared). The 300-image figures:
benchmarks/results/eval_shapes_seg.md.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import trtnn
from refmodels import segment_postprocess as sp
from trtnn.eval import SegmentationMetrics, YoloImages, mask_iou
from trtnn.eval.segmentation import ground_truth, overlap_masks, resample_polygon
from trtnn.models.vision import Preprocess
from trtnn.models.yolo.tasks import SegmentEnd2End
from trtnn.reference import Executor

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
SEG_CKPT = os.path.join(SHARED, "yolov8n-seg_shapes.pt")


def test_resample_polygon_keeps_vertices_and_closes():
    tri = np.array([[0.0, 0.0], [0.5, 0.0], [0.5, 0.5]], np.float32)
    pts = resample_polygon(tri)
    assert pts.shape == (1000, 2) and pts.dtype == np.float32
    for v in tri:
        assert (np.abs(pts - v).sum(1) == 0).any()
    np.testing.assert_array_equal(pts[0], tri[0])
    np.testing.assert_array_equal(pts[-1], tri[0])  # closed: back at the first vertex
    assert (pts[:, 0] >= 0).all() and (pts[:, 0] <= 0.5).all()


def test_overlap_masks_smaller_on_top_in_area_order():
    big = np.array([[0, 0], [32, 0], [32, 32], [0, 32]], np.float32)
    small = np.array([[16, 16], [40, 16], [40, 40], [16, 40]], np.float32)
    masks, order = overlap_masks([small, big], (48, 48))
    assert order.tolist() == [1, 0]  # largest first
    assert masks.shape == (2, 12, 12) and masks.dtype == bool
    assert masks[1, 4:10, 4:10].all() and masks[1].sum() == 36  # the small square, on top: 24 / 4 = 6 x 6
    assert masks[0, :4, :8].all() and not masks[0, 4:10, 4:10].any()  # the big one minus the overlap
    assert not (masks[0] & masks[1]).any()


def test_mask_iou():
    a = np.zeros((2, 4, 4), np.uint8)
    a[0, :2] = 1  # 8 pixels
    a[1, :, :1] = 1  # 4 pixels
    b = np.zeros((1, 4, 4), np.uint8)
    b[0, :1] = 1  # 4 pixels, inside a[0], 1 shared with a[1]
    np.testing.assert_allclose(mask_iou(a, b), [[0.5], [1 / 7]], rtol=1e-6)


def test_metrics_box_and_mask_separately():
    """Boxes right, one mask wrong: box AP perfect (0.995 with the 101-point trapezoids), mask AP of that class 0."""
    gt_masks = np.zeros((2, 8, 8), bool)
    gt_masks[0, :4, :4] = True
    gt_masks[1, 4:, 4:] = True
    boxes = np.array([[0, 0, 16, 16], [16, 16, 32, 32]], float)
    pred_masks = gt_masks.copy()
    pred_masks[1] = False
    pred_masks[1, :2, 6:] = True
    m = SegmentationMetrics(2)
    m.update(boxes, [0.9, 0.8], [0, 1], pred_masks, boxes, np.array([0, 1]), gt_masks)
    r = m.results()
    assert r["box"]["mAP50-95"] == pytest.approx(0.995) and r["mask"]["mAP50-95"] == pytest.approx(0.995 / 2)
    with pytest.raises(trtnn.errors.ShapeError, match="same resolution"):
        m.update(boxes, [0.9, 0.8], [0, 1], pred_masks[:, :4], boxes, np.array([0, 1]), gt_masks)


# ---- the real checkpoint on real images ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    if not os.path.exists(SEG_CKPT):
        pytest.skip(f"needs the project's shared data ({SEG_CKPT})")
    pytest.importorskip("cv2", reason="the data generator needs OpenCV")
    root = tmp_path_factory.mktemp("shapes")
    subprocess.run([sys.executable, os.path.join(SHARED, "shapes.py"), str(root), "20", "4", "320"], check=True)
    return YoloImages(str(root), "val", labels="labels_seg")


@pytest.mark.parametrize("resolution", ["input", "proto"])
def test_real_checkpoint_masks_equal_the_reference_and_the_ground_truth(shapes, resolution):
    """yolov8n-seg_shapes.pt on 4 real images (predict defaults): detections and masks equal the reference
    post-processing of the network's own raw outputs; at proto resolution every ground-truth object has a predicted
    mask of its class with IoU > 0.75."""
    model = trtnn.models.from_checkpoint("yolov8n-seg", SEG_CKPT)
    e2e = SegmentEnd2End(model, preprocess=Preprocess("NHWC", bgr=True), max_det=50, mask_resolution=resolution)
    net = trtnn.define(e2e, e2e.inputs((320, 320), batch=4), debug_outputs=["model"])
    images, sizes, _, ratio_pads = next(shapes.batches(4, (320, 320), scaleup=False))
    got = Executor(net.network)({"images": torch.from_numpy(images)})
    pred, protos = (got[name] for name in net.module_outputs["model"])
    dets = sp.v8_seg_nms(pred, 32, 0.25, 0.7, 50)
    boundary = 0
    for i, d in enumerate(dets):
        n = len(d.scores)
        assert n > 0 and got["num_dets"][i, 0].item() == n
        torch.testing.assert_close(got["det_boxes"][i, :n], d.boxes, atol=1e-3, rtol=0)
        assert torch.equal(got["det_classes"][i, :n].long(), d.classes)
        values = sp.process_mask(protos[i], d.coeffs, d.boxes, (320, 320), resolution == "input", values=True)
        differ = got["det_masks"][i, :n] != values.gt(0).to(torch.uint8)
        assert (values[differ].abs() <= 1e-4).all()
        boundary += int(differ.sum())
        if resolution == "proto":
            stem = os.path.splitext(os.path.basename(shapes.files[i]))[0]
            gt_cls, _, gt_masks = ground_truth(os.path.join(shapes.label_dir, stem + ".txt"), sizes[i],
                                               ratio_pads[i], (320, 320))
            iou = mask_iou(gt_masks, got["det_masks"][i, :n].numpy())
            iou *= gt_cls[:, None] == d.classes.numpy()[None]
            assert (iou.max(1) > 0.75).all(), iou.max(1)
    assert boundary <= 5  # pixels whose value before the threshold is within 1e-4 of 0
