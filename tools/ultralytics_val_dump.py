"""Record what ultralytics' own validator sees: per image, its predictions after NMS (and masks) and its ground truth,
with the figures it reports, into an .npz that tests/test_eval_ultralytics.py scores with trtnn.eval.

A developer tool, not part of trtnn: run it with a Python that has ultralytics (8.4.190 made the committed files),
e.g. a venv with --system-site-packages, `pip install --no-deps ultralytics==8.4.190` and its pure-Python
dependencies, and a torchvision stand-in giving package metadata and ops.nms:
    python tools/ultralytics_val_dump.py WEIGHTS.pt DATA.yaml OUT.npz [--imgsz 320]
DATA.yaml must point at a folder whose labels/ holds the labels to score (for segmentation: the polygons).
"""
import argparse
import os

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights")
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--imgsz", type=int, default=320)
    args = ap.parse_args()
    import ultralytics
    from ultralytics import YOLO
    from ultralytics.models.yolo.detect.val import DetectionValidator

    images = []
    update = DetectionValidator.update_metrics

    def record(self, preds, batch):
        for si, pred in enumerate(preds):
            truth = self._prepare_batch(si, batch)
            images.append({"file": os.path.basename(truth["im_file"]), "imgsz": tuple(truth["imgsz"]),
                           "gt": truth["bboxes"].numpy().reshape(-1, 4), "gt_cls": truth["cls"].numpy(),
                           "boxes": pred["bboxes"].numpy(), "conf": pred["conf"].numpy(), "cls": pred["cls"].numpy(),
                           "gt_masks": truth["masks"].numpy() > 0 if "masks" in pred else None,
                           "masks": pred["masks"].numpy() > 0 if "masks" in pred else None})
        return update(self, preds, batch)

    DetectionValidator.update_metrics = record  # the segment validator calls its parent's per-image bookkeeping
    metrics = YOLO(args.weights).val(data=args.data, imgsz=args.imgsz, batch=32, device="cpu", plots=False)
    out = {"version": ultralytics.__version__, "imgsz": np.array(images[0]["imgsz"]),
           "files": np.array([i["file"] for i in images]),
           "n_pred": np.array([len(i["conf"]) for i in images]), "n_gt": np.array([len(i["gt_cls"]) for i in images]),
           "box_map": metrics.box.map, "box_map50": metrics.box.map50}
    for key in ("boxes", "conf", "cls", "gt", "gt_cls"):
        out[key] = np.concatenate([i[key] for i in images])
    if images[0]["masks"] is not None:
        out["mask_map"], out["mask_map50"] = metrics.seg.map, metrics.seg.map50
        for key in ("masks", "gt_masks"):
            stacked = np.concatenate([i[key] for i in images])
            out[key + "_hw"] = np.array(stacked.shape[1:])
            out[key] = np.packbits(stacked.reshape(len(stacked), -1), axis=1)
    np.savez_compressed(args.out, **out)
    print(f"{args.out}: {len(images)} images, box mAP50-95 {metrics.box.map:.10f}"
          + (f", mask {metrics.seg.map:.10f}" if "mask_map" in out else ""))


if __name__ == "__main__":
    main()
