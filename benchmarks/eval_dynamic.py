"""One dynamic end-to-end YOLOv8n engine (real ultralytics checkpoint ../shared/data/yolov8n_shapes.pt) at two image
sizes, 320x320 and 256x416, on the shapes val images: its detections against static networks built at each size, and
the mAP (ultralytics' validator protocol: conf 0.001, iou 0.7, multi-label NMS, letterbox without scale-up), on the
CPU executor. The dynamic network has a dynamic batch 1..10 and height/width 32..416.

Run: python benchmarks/eval_dynamic.py [--limit N]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import torch  # noqa: E402

import trtnn  # noqa: E402
from common import SHARED, report, shapes_dataset  # noqa: E402
from trtnn.eval import YoloImages  # noqa: E402
from trtnn.eval.detection import DetectionMetrics  # noqa: E402
from trtnn.eval.run import unletterbox  # noqa: E402
from trtnn.models.vision import Preprocess  # noqa: E402
from trtnn.models.yolo.tasks import End2End  # noqa: E402
from trtnn.reference import Executor  # noqa: E402

BATCH = 10


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N validation images")
    args = ap.parse_args()
    model = trtnn.models.yolov8("n", nc=3)
    model.load_state_dict(trtnn.load_checkpoint(os.path.join(SHARED, "data", "yolov8n_shapes.pt")))
    e2e = End2End(model, conf=0.001, iou=0.7, max_det=300, preprocess=Preprocess("NHWC", bgr=True),
                  pre_nms_topk=3840, multi_label=True)
    dynamic = Executor(trtnn.define(e2e, e2e.inputs((416, 416), max_batch=BATCH, min_imgsz=(32, 32))))
    data = YoloImages(shapes_dataset(), "val", limit=args.limit)
    rows = []
    for hw in ((320, 320), (256, 416)):
        static = Executor(trtnn.define(e2e, e2e.inputs(hw, batch=BATCH)))
        metrics = {"static": DetectionMetrics(3), "dynamic": DetectionMetrics(3)}
        seconds = {"static": 0.0, "dynamic": 0.0}
        differ = 0
        for images, sizes, targets, ratio_pads in data.batches(BATCH, hw, False):
            n = len(images)
            outs = {}
            for kind, ex in (("static", static), ("dynamic", dynamic)):
                x = torch.from_numpy(images)
                if kind == "static" and n < BATCH:  # the static network takes full batches: pad the last one
                    x = torch.cat([x, torch.zeros((BATCH - n, *x.shape[1:]), dtype=x.dtype)])
                t0 = time.perf_counter()
                outs[kind] = ex({"images": x})
                seconds[kind] += time.perf_counter() - t0
                for i, (gt_cls, gt_boxes) in enumerate(targets):
                    k = int(outs[kind]["num_dets"][i, 0])
                    boxes = unletterbox(outs[kind]["det_boxes"][i, :k].double().numpy(), ratio_pads[i], sizes[i])
                    metrics[kind].update(boxes, outs[kind]["det_scores"][i, :k].double().numpy(),
                                         outs[kind]["det_classes"][i, :k].numpy(), gt_boxes, gt_cls)
            differ += sum(not torch.equal(outs["static"][k][:n], outs["dynamic"][k]) for k in outs["dynamic"])
        for kind in ("static", "dynamic"):
            r = metrics[kind].results()
            rows.append([f"{hw[0]}x{hw[1]}", kind, f"{r['mAP50-95']:.4f}", f"{r['mAP50']:.4f}",
                         f"{1000 * seconds[kind] / len(data):.0f}",
                         "" if kind == "static" else ("identical" if not differ else f"{differ} outputs differ")])
    report("eval_dynamic", f"YOLOv8n end to end, one dynamic network vs static ones, {len(data)} shapes val images",
           ["imgsz", "network", "mAP50-95", "mAP50", "ms/image", "detections vs static"], rows,
           notes="Real checkpoint (ultralytics 8.4, ../shared/data/yolov8n_shapes.pt); ultralytics' own val at 320 "
                 "(rect batches padded to 352): mAP50-95 0.9645, mAP50 0.994. Dynamic: batch 1..10, height/width "
                 "32..416 in one profile; the last batch runs at its real size on the dynamic network (the static "
                 "one pads it). `python benchmarks/eval_dynamic.py`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
