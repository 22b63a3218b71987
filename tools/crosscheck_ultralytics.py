"""Cross-check trtnn's YOLO models against ultralytics itself, in two processes (trtnn never imports ultralytics).

    # 1. with a python that has ultralytics 8.4.190: build each model from ultralytics' bundled yaml (seed 0; convs
    #    He-initialized, BatchNorm statistics random, class logits spread), run a fixed random input, save
    #    state_dict + raw outputs + ultralytics' postprocess
    /tmp/ulvenv/bin/python tools/crosscheck_ultralytics.py export /tmp/ul_crosscheck
    # 2. with trtnn's python: load each state_dict into the trtnn model (strictly), run the network on the CPU
    #    executor, compare; prints a table and writes benchmarks/results/ultralytics_crosscheck.md
    python tools/crosscheck_ultralytics.py compare /tmp/ul_crosscheck

Both take --models yolov8n,yolo26n-pose (default: all of MODELS) and --nc 80,3. Nothing here installs anything.
Making the ultralytics python (a throw-away venv sharing this machine's torch):

    python -m venv --system-site-packages /tmp/ulvenv
    /tmp/ulvenv/bin/pip install --no-deps ultralytics==8.4.190
    /tmp/ulvenv/bin/pip install --no-deps pyyaml requests psutil polars ultralytics-thop matplotlib pillow \
        opencv-python-headless   # its pure-python / wheel deps, still no torch
    # torchvision stub (never install torchvision: it pulls another torch): a package `torchvision` in the venv's
    # site-packages with __init__.py = '__version__ = "0.28.0"; from . import ops' and ops.py defining
    # nms(boxes, scores, iou_threshold) via ultralytics.utils.nms.TorchNMS.nms, plus a torchvision-0.28.0.dist-info
    # with a METADATA file (Name: torchvision / Version: 0.28.0) so ultralytics' version checks pass.

What is compared (per model and class count): parameter count and state_dict keys/shapes; raw outputs (the head's
inference output; YOLO26 / YOLOv10 both branches: one2one x1y1x2y2, one2many xywh); end to end, trtnn's registered
end-to-end wrapper (the CLI's `--end2end`, float input, no letterbox) against ultralytics' predict-time postprocess on
the same input: NMS (non_max_suppression) or the one-to-one top-k, masks (process_mask upsample=True), keypoints,
rotated boxes, classify top-5; for -seg also predict(retina_masks=True): the input taken as the letterbox of a
200x300 image, boxes mapped back and process_mask_native against mask_resolution='orig'. The confidence threshold is picked in the widest score gap around rank 100 so float
rounding cannot flip a candidate.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Dict, List, Tuple

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "ultralytics_crosscheck.md")
MODELS = ("yolov8n", "yolo11n", "yolo26n", "yolov10n", "yolov8n-seg", "yolo11n-seg", "yolov8n-pose", "yolo11n-pose",
          "yolo26n-pose", "yolov8n-obb", "yolo11n-obb", "yolo26n-obb", "yolov8n-cls", "yolo11n-cls", "yolo26n-cls")
IOU, MAX_DET = 0.7, 300
RAW_TOL = E2E_TOL = 1e-4  # max relative error (max abs error / max |reference|) of raw outputs, boxes, scores...
MASK_TOL = 1e-4  # mask pixels differing / pixels in either mask (logits within float rounding of 0 may flip)
ORIG_HW = (200, 300)  # -seg: the original image size the input is taken as the letterbox of (retina masks)
TIE = 1e-6  # scores this close count as tied when matching detections


def task_of(name: str) -> str:
    return {"seg": "segment", "pose": "pose", "obb": "obb", "cls": "classify"}.get(name.rpartition("-")[2], "detect")


def nms_free(name: str) -> bool:
    return name.startswith(("yolo26", "yolov10")) and task_of(name) != "classify"


def pick_conf(scores: torch.Tensor, lo: int = 50, hi: int = 150) -> float:
    """A threshold in the widest gap between the sorted scores of ranks lo..hi (scores of all candidates)."""
    s = scores.flatten().double().sort(descending=True).values[:hi + 1]
    lo = min(lo, len(s) - 2)
    gaps = s[lo:-1] - s[lo + 1:]
    i = lo + int(gaps.argmax())
    return float((s[i] + s[i + 1]) / 2)


# ---- step 1: ultralytics ----------------------------------------------------------------------------------------
def randomize_bn(model: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial BatchNorm statistics, so BN folding is exercised."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = torch.rand(n, generator=g) + 0.5
            m.bias.data = torch.randn(n, generator=g) * 0.2
            m.running_mean = torch.randn(n, generator=g) * 0.2
            m.running_var = torch.rand(n, generator=g) * 1.5 + 0.5


@torch.no_grad()
def spread_logits(model: torch.nn.Module, x: torch.Tensor, layers: List[torch.nn.Module], mean: float,
                  std: float) -> None:
    """Rescale the weights and biases of `layers` (convs or linears feeding class logits) so their outputs on x have
    this mean and std. At random init the detection logits vary by ~1e-7 around the bias, so the sigmoid scores tie
    at float32 resolution and the tie order, not the model, would decide NMS; classification logits are so large
    that the softmax saturates."""
    outputs = []
    hooks = [m.register_forward_hook(lambda m, i, o: outputs.append(o.flatten())) for m in layers]
    model(x)
    for h in hooks:
        h.remove()
    u = torch.cat(outputs)
    k = std / float(u.std())
    for m in layers:
        m.weight.mul_(k)
        m.bias.copy_((m.bias - u.mean()) * k + mean)


@torch.no_grad()
def he_init(model: torch.nn.Module, seed: int = 2) -> None:
    """Conv weights ~ N(0, 2 / fan_in): torch's default init shrinks activations layer by layer until the deep
    features are nearly constant over the image (the DFL's fixed conv is left alone)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d) and m.weight.requires_grad:
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2 / m.weight[0].numel()) ** 0.5)


@torch.no_grad()
def spread_mask_logits(model: torch.nn.Module, x: torch.Tensor, std: float = 1.0) -> None:
    """Make the mask logits (coefficients @ prototypes) on x vary in sign: each coefficient centred over the anchors
    and scaled so those logits have this std, plus a fixed random coefficient vector whose logits have zero mean
    over the pixels and twice that std. Otherwise every logit is negative and every mask empty."""
    head = model.model[-1]
    (pred, protos), _ = model(x)
    c, p = pred[0, 4 + head.nc:], protos[0].flatten(1)  # [nm, A] (the last convs of cv4, no activation), [nm, HW]
    mean = c.mean(1)
    k = std / float(((c - mean[:, None]).T @ p).std())
    g = torch.randn(len(mean), generator=torch.Generator().manual_seed(3))
    pm = p.mean(1)
    g -= (g @ pm) / (pm @ pm) * pm  # g @ p has zero mean over the pixels
    g *= 2 * std / float((g @ p).std())
    for level in head.cv4:
        level[-1].weight.mul_(k)
        level[-1].bias.copy_((level[-1].bias - mean) * k + g)


def ultralytics_model(name: str, nc: int) -> torch.nn.Module:
    from ultralytics.nn import tasks

    cls = {"detect": tasks.DetectionModel, "segment": tasks.SegmentationModel, "pose": tasks.PoseModel,
           "obb": tasks.OBBModel, "classify": tasks.ClassificationModel}[task_of(name)]
    torch.manual_seed(0)
    model = cls(f"{name}.yaml", nc=nc, verbose=False)
    he_init(model)
    randomize_bn(model)
    return model.eval()


@torch.no_grad()
def ultralytics_record(name: str, nc: int) -> Dict[str, Any]:
    """Everything step 2 needs for one model: weights, input, raw outputs, the postprocessed results."""
    import ultralytics
    from ultralytics.utils import nms, ops

    task = task_of(name)
    model = ultralytics_model(name, nc)
    imgsz = 224 if task == "classify" else 320
    x = torch.rand(1, 3, imgsz, imgsz, generator=torch.Generator().manual_seed(1))
    head = model.model[-1]
    if task == "classify":
        spread_logits(model, x, [head.linear], 0.0, 1.0)
    for branch in (getattr(head, "cv3", None), getattr(head, "one2one_cv3", None)):  # class logits -3 +- 0.5
        if branch is not None:
            spread_logits(model, x, [level[-1] for level in branch], -3.0, 0.5)
    if task == "segment":
        spread_mask_logits(model, x)
    rec: Dict[str, Any] = {"name": name, "nc": nc, "task": task, "version": ultralytics.__version__, "input": x,
                           "params": sum(p.numel() for p in model.parameters()),
                           "state_dict": {k: v.clone() for k, v in model.state_dict().items()}, "raw": {}}
    if task == "classify":
        probs = model(x)[0]
        rec["raw"]["output"] = probs
        rec["e2e"] = {"probs": probs[0], "top5": (-probs[0]).argsort(0)[:5]}
        return rec
    if nms_free(name):
        head.end2end = False
        rec["raw"]["one2many"] = pred = model(x)[0]
        rec["e2e_one2many"] = ultralytics_nms(task, pred, None, head, x)
        head.end2end = True
        top, preds = model(x)  # ultralytics' one-to-one top-k [B, 300, 6 + extra] and the raw branches
        rec["raw"]["one2one"] = head._inference(preds["one2one"])
        conf = pick_conf(top[0, :, 4], 20, 100)
        det = nms.non_max_suppression(top, conf, IOU, max_det=MAX_DET, end2end=True)[0]
        rec["e2e"] = {"conf": conf, **results(task, det, None, head, x)}
        return rec
    out = model(x)[0]
    pred, protos = out if task == "segment" else (out, None)
    rec["raw"].update({"output0": pred, "output1": protos} if protos is not None else {"output": pred})
    rec["e2e"] = ultralytics_nms(task, pred, protos, head, x)
    if task == "segment":  # predict(retina_masks=True): boxes mapped back, process_mask_native
        det = torch.cat([rec["e2e"]["boxes"], rec["e2e"]["coeffs"]], 1)
        boxes = ops.scale_boxes(x.shape[2:], det[:, :4].clone(), ORIG_HW)
        rec["native"] = {**rec["e2e"], "boxes": boxes,
                         "masks": ops.process_mask_native(protos[0], det[:, 4:], boxes, ORIG_HW)}
    return rec


def ultralytics_nms(task: str, pred: torch.Tensor, protos: Any, head: Any, x: torch.Tensor) -> Dict[str, Any]:
    """non_max_suppression of a raw output [1, 4 + nc + extra, A] with a conf picked in a score gap, and results."""
    from ultralytics.utils import nms

    conf = pick_conf(pred[0, 4:4 + head.nc].amax(0))
    det = nms.non_max_suppression(pred, conf, IOU, max_det=MAX_DET, nc=head.nc, rotated=task == "obb")[0]
    return {"conf": conf, **results(task, det, protos, head, x)}


def results(task: str, det: torch.Tensor, protos: Any, head: Any, x: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The predictor's view of detections [N, 6 + extra]: boxes, scores, classes and the task's masks (process_mask
    upsample=True), keypoints [N, K, D] or xywhr boxes (as Results.obb.xywhr)."""
    from ultralytics.utils import ops

    out = {"boxes": det[:, :4], "scores": det[:, 4], "classes": det[:, 5].long()}
    if task == "segment":
        out["coeffs"] = det[:, 6:]
        out["masks"] = ops.process_mask(protos[0], det[:, 6:], det[:, :4], x.shape[2:], upsample=True)
    elif task == "pose":
        out["keypoints"] = det[:, 6:].view(len(det), *head.kpt_shape)
    elif task == "obb":
        out["boxes"] = torch.cat([det[:, :4], det[:, -1:]], -1)
    return out


def export(out_dir: str, names: List[str], ncs: List[int]) -> None:
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        for nc in ncs:
            t = time.time()
            rec = ultralytics_record(name, nc)
            torch.save(rec, os.path.join(out_dir, f"{name}_nc{nc}.pt"))
            print(f"{name} nc={nc}: {rec['params']} params, {time.time() - t:.1f} s", flush=True)


# ---- step 2: trtnn ------------------------------------------------------------------------------------------------
def rel_err(got: torch.Tensor, ref: torch.Tensor) -> Tuple[float, float]:
    """(max |got - ref|, that / max |ref|)."""
    err = (got.double() - ref.double()).abs().max().item() if ref.numel() else 0.0
    return err, err / max(ref.double().abs().max().item(), 1e-12) if ref.numel() else 0.0


def run_network(model: Any, inputs: List[Any], feed: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    import trtnn
    from trtnn.reference import Executor

    return Executor(trtnn.define(model, inputs))(feed)


def trtnn_raw(name: str, rec: Dict[str, Any]) -> Tuple[Any, Dict[str, torch.Tensor]]:
    """The trtnn model configured from the ultralytics state_dict and loaded strictly, and its raw outputs."""
    import trtnn
    import trtnn.models as M
    from trtnn.models.registry import load_weights

    spec, state = M.spec(name), rec["state_dict"]
    model = spec.variants[name](**spec.config_from_state_dict(state))
    load_weights(model, dict(state), name)
    x = rec["input"]
    inputs, feed = [trtnn.Input("images", tuple(x.shape))], {"images": x}
    if not nms_free(name):
        return model, dict(zip(rec["raw"], run_network(model, inputs, feed).values()))
    raw = {}
    for branch in ("one2many", "one2one"):
        model.model[-1].end2end = branch == "one2one"
        raw[branch] = next(iter(run_network(model, inputs, feed).values()))
    return model, raw


def trtnn_e2e(name: str, model: Any, x: torch.Tensor, ref: Dict[str, Any], head: str = "one2one") -> Dict[str, Any]:
    """trtnn's registered end-to-end wrapper (the CLI's --end2end with float input, the reference's conf; `head` for
    YOLO26 / YOLOv10) run on the same input."""
    import trtnn.models as M

    spec = M.spec(name)
    opts = {**spec.end2end_defaults, "layout": None, "bgr": False, "runtime_thresholds": False,
            "scale_to_orig": False, "imgsz": tuple(x.shape[2:])}
    if "conf" in opts:
        opts.update(conf=ref["conf"], iou=IOU, max_det=MAX_DET)
    if "head" in opts:
        opts["head"] = head
    wrapper = spec.end2end(model, opts)
    return run_network(wrapper, wrapper.inputs(tuple(x.shape[2:])), {"images": x})


def trtnn_native_masks(model: Any, rec: Dict[str, Any]) -> Dict[str, torch.Tensor]:
    """SegmentEnd2End with mask_resolution='orig' (process_mask_native), the input taken as the letterbox of an
    ORIG_HW image."""
    from trtnn.models.yolo.tasks import SegmentEnd2End

    e2e = SegmentEnd2End(model, rec["e2e"]["conf"], IOU, MAX_DET, scale_to_orig=True, mask_resolution="orig",
                         orig_canvas=ORIG_HW)
    x = rec["input"]
    feed = {"images": x, "orig_size": torch.tensor([ORIG_HW], dtype=torch.int32)}
    return run_network(e2e, e2e.inputs(tuple(x.shape[2:])), feed)


def regularized(rboxes: torch.Tensor) -> torch.Tensor:
    """xywhr with w, h swapped where angle mod pi >= pi/2 and the angle mod pi/2 (ultralytics' regularize_rboxes,
    which its 8.4.190 OBB predictor no longer applies; trtnn's OBB engines do)."""
    x, y, w, h, t = rboxes.unbind(-1)
    swap = t % torch.pi >= torch.pi / 2
    return torch.stack([x, y, torch.where(swap, h, w), torch.where(swap, w, h), t % (torch.pi / 2)], -1)


def tie_order(scores: torch.Tensor, classes: torch.Tensor, boxes: torch.Tensor, ref: Dict[str, torch.Tensor],
              ref_boxes: torch.Tensor) -> torch.Tensor:
    """For each reference row, the trtnn row matching it: among the unused rows of its class whose score is within
    TIE of its score, the nearest box. Rows of equal scores come in index order from trtnn and in torch.topk's or
    torchvision's unspecified order from ultralytics."""
    order, used = [], set()
    for s, c, b in zip(ref["scores"].tolist(), ref["classes"].tolist(), ref_boxes):
        cands = [j for j in range(len(scores)) if j not in used and int(classes[j]) == c
                 and abs(float(scores[j]) - s) <= TIE] or [len(order)]
        j = min(cands, key=lambda j: float((boxes[j] - b).abs().max()))
        order.append(j)
        used.add(j)
    return torch.tensor(order, dtype=torch.long)


def compare_e2e(task: str, got: Dict[str, torch.Tensor], ref: Dict[str, torch.Tensor]) -> Tuple[bool, str]:
    """(agree?, summary) of trtnn's end-to-end outputs against ultralytics' postprocessed results."""
    if task == "classify":
        top5 = got["top5_classes"][0].long()
        same = torch.equal(top5, ref["top5"][:len(top5)])
        probs, probs_rel = rel_err(got["probs"][0], ref["probs"])
        return same and probs_rel < E2E_TOL, f"top5 {'equal' if same else 'DIFFERS'}, probs {probs:.1e}"
    n = int(got["num_dets"][0, 0])
    if n != len(ref["scores"]):
        return False, f"{n} detections vs {len(ref['scores'])}"
    ref_boxes = regularized(ref["boxes"]) if task == "obb" else ref["boxes"]
    order = tie_order(got["det_scores"][0, :n], got["det_classes"][0, :n], got["det_boxes"][0, :n], ref, ref_boxes)
    got = {k: v[0, :n][order] for k, v in got.items() if k != "num_dets"}
    classes = torch.equal(got["det_classes"].long(), ref["classes"])
    (box, box_rel), (score, score_rel) = rel_err(got["det_boxes"], ref_boxes), rel_err(got["det_scores"], ref["scores"])
    ok = classes and box_rel < E2E_TOL and score_rel < E2E_TOL
    moved = int((order != torch.arange(n)).sum())
    parts = [f"{n} dets" + (f" ({moved} tied rows in another order)" if moved else ""),
             "classes equal" if classes else "CLASSES DIFFER", f"box {box:.1e} px", f"score {score:.1e}"]
    if task == "obb":
        raw = rel_err(got["det_boxes"], ref["boxes"])[0]
        parts[2] = f"xywhr {box:.1e} after regularize_rboxes ({raw:.1e} without)"
    if task == "pose":
        kpt, kpt_rel = rel_err(got["det_keypoints"], ref["keypoints"])
        ok &= kpt_rel < E2E_TOL
        parts.append(f"kpt {kpt:.1e}")
    if task == "segment":
        a, b = got["det_masks"].bool(), ref["masks"].bool()
        diff, union = int((a ^ b).sum()), int((a | b).sum())
        ok &= diff <= MASK_TOL * union
        parts.append(f"mask px differing {diff}/{union}")
    return ok, ", ".join(parts)


def keys_and_shapes(state: Dict[str, Any]) -> List[Tuple[str, Tuple[int, ...]]]:
    return [(k, tuple(v.shape)) for k, v in state.items()]


def compare_one(rec: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The table rows of one record (params and keys equal?, raw errors per output, end-to-end agreement); two for
    -seg: its retina masks apart."""
    import trtnn.models as M

    name, state = rec["name"], rec["state_dict"]
    spec = M.spec(name)
    fresh = spec.variants[name](**spec.config_from_state_dict(state))
    mine, theirs = keys_and_shapes(fresh.state_dict()), keys_and_shapes(state)
    keys = "equal" if mine == theirs else "same set, other order" if sorted(mine) == sorted(theirs) else \
        f"DIFFER ({len(set(mine) - set(theirs))} only trtnn, {len(set(theirs) - set(mine))} only ultralytics)"
    params = sum(p.numel() for p in fresh.parameters())
    model, raw = trtnn_raw(name, rec)
    errors = {k: rel_err(raw[k], rec["raw"][k]) for k in rec["raw"]}
    shapes_ok = all(tuple(raw[k].shape) == tuple(rec["raw"][k].shape) for k in rec["raw"])
    x = rec["input"]
    ok, e2e = compare_e2e(rec["task"], trtnn_e2e(name, model, x, rec["e2e"]), rec["e2e"])
    if "e2e_one2many" in rec:
        o2m_ok, o2m = compare_e2e(rec["task"], trtnn_e2e(name, model, x, rec["e2e_one2many"], "one2many"),
                                  rec["e2e_one2many"])
        ok, e2e = ok and o2m_ok, f"one2one top-k: {e2e}; one2many + NMS: {o2m}"
    row = {"model": name, "nc": rec["nc"], "params": "equal" if params == rec["params"] else
           f"DIFFER ({params} vs {rec['params']})", "keys": keys,
           "raw": "; ".join(f"{k} {a:.1e} abs / {r:.1e} rel" for k, (a, r) in errors.items())
           + ("" if shapes_ok else " SHAPES DIFFER"),
           "raw_ok": shapes_ok and all(r < RAW_TOL for _, r in errors.values()), "e2e_ok": ok, "e2e": e2e}
    if "native" not in rec:
        return [row]
    native_ok, native = compare_e2e("segment", trtnn_native_masks(model, rec), rec["native"])
    return [row, {**row, "model": f"{name} retina masks ({ORIG_HW[0]}x{ORIG_HW[1]} original)", "e2e_ok": native_ok,
                  "e2e": native}]


def table(rows: List[Dict[str, Any]]) -> str:
    head = "| model | nc | params equal? | keys equal? | raw max error (abs / rel) | end to end |\n|---|---|---|---|---|---|\n"
    return head + "\n".join(f"| {r['model']} | {r['nc']} | {r['params']} | {r['keys']} | {r['raw']}"
                             f"{'' if r['raw_ok'] else ' **MISMATCH**'} | {'agree' if r['e2e_ok'] else '**MISMATCH**'}"
                             f": {r['e2e']} |" for r in rows)


def compare(in_dir: str, names: List[str], ncs: List[int], out: str) -> int:
    from trtnn.io.files import atomic_write_bytes, check_output_path

    check_output_path(out, what="results file")
    rows, version = [], "?"
    for name in names:
        for nc in ncs:
            t = time.time()
            rec = torch.load(os.path.join(in_dir, f"{name}_nc{nc}.pt"), weights_only=True)
            version = rec["version"]
            rows.extend(compare_one(rec))
            print(f"{name} nc={nc}: {rows[-1]['raw']} | {rows[-1]['e2e']} ({time.time() - t:.1f} s)", flush=True)
    text = (f"# trtnn YOLO models vs ultralytics {version}\n\n"
            f"`{' '.join(['python tools/crosscheck_ultralytics.py'] + sys.argv[1:])}` (after the `export` step run by "
            f"ultralytics' python; see the tool's docstring). Models built from ultralytics' yaml (seed 0, He-initialized "
            f"convs, random BatchNorm statistics, class logits spread: see the tool), one random input (320x320; -cls 224x224), trtnn on the CPU executor (fp32). "
            f"Raw: the head's inference output (YOLO26 / YOLOv10: both branches); relative error = max abs error / max "
            f"|reference|; MISMATCH above {RAW_TOL:g}. End to end: trtnn's registered --end2end wrapper vs ultralytics' "
            f"predict postprocess (conf picked in a score gap, iou {IOU}, max_det {MAX_DET}).\n\n" + table(rows) + "\n")
    print(table(rows))
    atomic_write_bytes(out, text.encode())
    return 0 if all(r["raw_ok"] and r["e2e_ok"] and r["params"] == r["keys"] == "equal" for r in rows) else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=("export", "compare"), help="export: ultralytics' python; compare: trtnn's")
    p.add_argument("dir", help="directory of the exported records (<model>_nc<nc>.pt)")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated model names (default: all)")
    p.add_argument("--nc", default="80,3", help="comma-separated class counts (default: 80,3)")
    p.add_argument("--out", default=RESULTS, help="compare: the results file (default: %(default)s)")
    args = p.parse_args()
    names, ncs = args.models.split(","), [int(v) for v in args.nc.split(",")]
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        p.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    if args.step == "export":
        export(args.dir, names, ncs)
        return 0
    return compare(args.dir, names, ncs, args.out)


if __name__ == "__main__":
    sys.exit(main())
