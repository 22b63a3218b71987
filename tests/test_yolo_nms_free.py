"""YOLO26 and YOLOv10: keys and parameter counts, both head branches against the references (tests/refmodels/yolo.py)
on the CPU executor, the in-engine top-k (trtnn.models.vision.topk) against ultralytics' Detect.postprocess, and the CLI."""
import pytest
import torch

import refmodels as ref
import refmodels.yolo as ref_yolo
import trtnn
from harness import Fn, parse_keys, rel_err
from refmodels import detect_postprocess as pp
from test_detect import check
from trtnn.cli import main
from trtnn.errors import ConfigError
from trtnn.models import from_checkpoint, get, spec
from trtnn.models.vision import OUTPUT_NAMES, Preprocess
from trtnn.models.vision import TopK
from trtnn.models.yolo.tasks import TopKEnd2End
from trtnn.models.yolo import yolo26, yolov8, yolov10
from trtnn.reference import Executor

TOL = 1e-5
PARAMS = {  # MODELS.md (ultralytics 8.4, 80 classes)
    "yolo26n": 2_572_280, "yolo26s": 10_009_784, "yolo26m": 21_896_248, "yolo26l": 26_299_704, "yolo26x": 58_993_368,
    "yolov10n": 2_775_520, "yolov10s": 8_128_272, "yolov10m": 16_576_768, "yolov10b": 20_574_384,
    "yolov10l": 25_888_688, "yolov10x": 31_808_960,
}
REF = {"yolo26": ref.yolo26, "yolov10": ref.yolov10}
TRT = {"yolo26": yolo26, "yolov10": yolov10}


def reference(family, scale, nc=80, seed=3):
    """A reference model with random BN statistics and a one-to-one branch that differs from the one-to-many one."""
    r = ref.randomize_bn(REF[family](scale, nc), seed=seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in r.named_parameters():
            if ".one2one_" in name:
                p.add_(torch.randn(p.shape, generator=g) * 0.1)
    return r


# ------------------------------------------------------------------------------------------- structure
@pytest.mark.parametrize("family", ["yolo26", "yolov10"])
def test_keys_match_ultralytics(family):
    keys = parse_keys(f"{family}n")
    r = reference(family, "n")
    model = TRT[family]("n")
    assert [(k, tuple(v.shape)) for k, v in r.state_dict().items()] == keys
    model.load_state_dict(r.state_dict(), strict=True)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == keys
    assert (family == "yolov10") == ("model.23.dfl.conv.weight" in model.state_dict())  # YOLO26: reg_max 1, no DFL


@pytest.mark.parametrize("name", list(PARAMS))
def test_param_count(name):
    assert sum(p.numel() for p in get(name)().parameters()) == PARAMS[name]


@pytest.mark.parametrize("name", ["yolo26s", "yolov10b"])
def test_reference_param_count(name):
    family, scale = name[:-1], name[-1]
    assert sum(p.numel() for p in REF[family](scale).parameters()) == PARAMS[name]


def test_branch_selection():
    head = yolo26("n").model[-1]
    assert head.end2end and head.reg_max == 1
    head.end2end = False
    assert not head.end2end
    with pytest.raises(ConfigError, match="Detect has no one-to-one branch"):
        yolov8("n").model[-1].end2end = True


# ------------------------------------------------------------------------------------------- raw outputs
CASES = [("yolo26", "n", 5, (2, 3, 32, 64)), ("yolo26", "s", 80, (1, 3, 32, 32)),
         ("yolov10", "n", 80, (1, 3, 64, 64)), ("yolov10", "s", 3, (1, 3, 32, 32))]


@pytest.mark.parametrize("family,scale,nc,shape", CASES, ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_both_branches_match_reference(family, scale, nc, shape):
    """one2one: [B, 4 + nc, A] x1y1x2y2 + scores; one2many: xywh + scores; each within 1e-5 of the reference."""
    r = reference(family, scale, nc)
    x = torch.rand(shape, generator=torch.Generator().manual_seed(4))
    h, w = shape[2:]
    outs = {}
    for end2end in (True, False):
        model = TRT[family](scale, nc)
        model.load_state_dict(r.state_dict(), strict=True)
        model.model[-1].end2end = r.model[-1].end2end = end2end
        net = trtnn.define(model, [trtnn.Input("images", shape)])
        (got,) = Executor(net.network)({"images": x}).values()
        with torch.no_grad():
            y = r(x)
        assert got.shape == y.shape == (shape[0], 4 + nc, sum((h // s) * (w // s) for s in (8, 16, 32)))
        assert rel_err(got[:, :4], y[:, :4]) <= TOL and rel_err(got[:, 4:], y[:, 4:]) <= TOL
        outs[end2end] = y
    assert rel_err(outs[True][:, 4:], outs[False][:, 4:]) > 1e-2  # the branches differ: the right one was compared


# ------------------------------------------------------------------------------------------- top-k
def topk_net(nc, b, a, extra=0, conf=0.25, max_det=300, runtime=False):
    inputs = [trtnn.Input("pred", (b, 4 + nc + extra, a))] + ([trtnn.Input("conf_thres", (1,))] if runtime else [])
    net = trtnn.define(Fn(TopK(nc, conf, max_det)), inputs)
    return lambda *xs: Executor(net.network)(dict(zip(["pred", "conf_thres"], xs)))


def ref_postprocess(pred, nc, max_det, conf):
    """ultralytics: Detect.postprocess on [B, A, 4 + nc], then the predictor's conf filter."""
    head = ref_yolo.Detect(nc, ch=(16,))
    head.max_det = max_det
    return pp.end2end_detections(head.postprocess(pred.transpose(1, 2)), conf, max_det)


def raw(b, a, nc, seed, levels=None):
    """Random one-to-one output [B, 4 + nc, A]: integer x1y1x2y2 boxes, scores (quantized to `levels` for ties)."""
    g = torch.Generator().manual_seed(seed)
    xy = torch.randint(0, 600, (b, a, 2), generator=g).float()
    boxes = torch.cat([xy, xy + torch.randint(1, 40, (b, a, 2), generator=g)], -1)
    scores = torch.rand(b, a, nc, generator=g)
    if levels:
        scores = (scores * levels).floor() / levels
    return torch.cat([boxes, scores], -1).transpose(1, 2).contiguous()


@pytest.mark.parametrize("levels", [None, 8], ids=["distinct", "ties"])
def test_topk_matches_postprocess(levels):
    """More candidates above conf than max_det; with `levels`, many equal scores (also at the k-th place)."""
    pred = raw(2, 120, 4, seed=7, levels=levels)
    out = topk_net(4, 2, 120, max_det=30)(pred)
    ref_dets = ref_postprocess(pred, 4, 30, 0.25)
    assert all(len(d.scores) == 30 for d in ref_dets)
    check(out, ref_dets, 30)


def test_topk_distinct_scores_match_torch_topk(monkeypatch):
    """Without ties the index order of equal scores does not matter: ultralytics' own torch.topk gives the same."""
    pred = raw(1, 200, 3, seed=8)
    monkeypatch.setattr(ref_yolo, "topk_stable", lambda x, k: x.topk(k))
    check(topk_net(3, 1, 200, max_det=50)(pred), ref_postprocess(pred, 3, 50, 0.25), 50)


def test_topk_ties_take_lower_index_first():
    """Equal scores: the first-stage anchors and the flat (anchor, class) picks go by index, lower first."""
    boxes = torch.tensor([[i * 10.0, 0, i * 10 + 5, 5] for i in range(5)])
    scores = torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.5, 0.2], [0.5, 0.5], [0.3, 0.1]])
    pred = torch.cat([boxes, scores], 1).T[None].contiguous()
    out = topk_net(2, 1, 5, max_det=3)(pred)
    assert out["num_dets"].item() == 3
    assert out["det_scores"][0].tolist() == pytest.approx([0.9, 0.5, 0.5])
    # anchors 1, 0, 2 (ties 0 / 2 / 3 at 0.5 by index); pairs (0, c0), (0, c1) follow anchor 1
    assert out["det_classes"][0].tolist() == [0, 0, 1]
    assert out["det_boxes"][0, :, 0].tolist() == [10.0, 0.0, 0.0]
    check(out, ref_postprocess(pred, 2, 3, 0.25), 3)


def test_topk_empty_small_and_runtime_conf():
    """No score above conf -> zeros; A < max_det -> k = A, padded; a runtime conf_thres input."""
    pred = raw(2, 21, 2, seed=9)
    pred[:, 4:] *= 0.2
    out = topk_net(2, 2, 21)(pred)
    assert out["num_dets"].tolist() == [[0], [0]] and out["det_boxes"].shape == (2, 300, 4)
    assert not any(out[name].any() for name in OUTPUT_NAMES)
    run = topk_net(2, 2, 21, runtime=True)
    top = pred[0, 4:].max().item()  # scores equal to conf are dropped (score > conf)
    for conf in (top, 0.1, 0.0):
        out = run(pred, torch.tensor([conf]))
        check(out, ref_postprocess(pred, 2, 300, conf), 300)
        assert conf != top or out["num_dets"][0].item() == 0
    assert out["num_dets"].tolist() == [[21], [21]]  # k = A rows, all above 0


def test_topk_carries_task_channels():
    """Channels after 4 + nc (a task head's) follow their anchor: det_extra [B, max_det, ne]."""
    pred = torch.cat([raw(1, 40, 3, seed=10), torch.randn(1, 2, 40, generator=torch.Generator().manual_seed(1))], 1)
    out = topk_net(3, 1, 40, extra=2, conf=0.95, max_det=10)(pred)
    head = ref_yolo.Detect(3, ch=(16,))
    _, _, idx = head.get_topk_index(pred[:, 4:7].transpose(1, 2), 10)
    expect = pred[:, 7:].transpose(1, 2).gather(1, idx.repeat(1, 1, 2))
    n = out["num_dets"].item()
    assert 0 < n < 10 and torch.equal(out["det_extra"][:, :n], expect[:, :n]) and not out["det_extra"][:, n:].any()


# ------------------------------------------------------------------------------------------- end to end
def test_end2end_yolo26n_matches_reference():
    """uint8 images -> one-to-one branch -> top-k -> boxes on the original images, dynamic batch, runtime conf: the
    raw one-to-one output as the reference's, and the detections as the reference's postprocess of that output."""
    r = reference("yolo26", "n", nc=6, seed=11)
    r.model[-1].max_det = 40
    img = torch.randint(0, 256, (2, 64, 96, 3), generator=torch.Generator().manual_seed(12), dtype=torch.uint8)
    with torch.no_grad():
        y = r(img.flip(-1).permute(0, 3, 1, 2).float() / 255)
    top = r.model[-1].postprocess(y.transpose(1, 2))[0, :, 4]  # a conf between two well separated top-k scores
    i = int(torch.nonzero(top[5:-1] - top[6:] > 1e-4)[0]) + 5
    conf = float(top[i] + top[i + 1]) / 2
    model = yolo26("n", 6)
    model.load_state_dict(r.state_dict())
    e2e = TopKEnd2End(model, max_det=40, preprocess=Preprocess(), runtime_thresholds=True, scale_to_orig=True)
    inputs = e2e.inputs((64, 96), max_batch=2)
    assert [i.name for i in inputs] == ["images", "conf_thres", "orig_size"] and inputs[0].shape == (-1, 64, 96, 3)
    net = trtnn.define(e2e, inputs, debug_outputs=["model"])
    assert [o.name for o in net.outputs][:4] == list(OUTPUT_NAMES)
    orig = torch.tensor([[120, 200], [90, 90]], dtype=torch.int32)
    got = Executor(net.network)({"images": img, "conf_thres": torch.tensor([conf]), "orig_size": orig})
    got_raw = got[net.module_outputs["model"][0]]
    assert rel_err(got_raw[:, :4], y[:, :4]) <= TOL and rel_err(got_raw[:, 4:], y[:, 4:]) <= TOL
    dets = pp.end2end_detections(r.model[-1].postprocess(got_raw.transpose(1, 2)), conf, 40)
    dets = [pp.Detections(pp.scale_boxes((64, 96), d.boxes, hw, pp.letterbox_ratio_pad(hw, (64, 96))), d.scores,
                          d.classes) for d, hw in zip(dets, orig.tolist())]
    assert 0 < len(dets[0].scores) < 40
    check(got, dets, 40)


def test_end2end_fp16_topk_exact_on_its_raw_output():
    """fp16 network (many equal fp16 scores): the detections are the reference postprocess of its own raw output."""
    r = reference("yolov10", "n", nc=5, seed=15)
    model = yolov10("n", 5)
    model.load_state_dict(r.state_dict())
    e2e = TopKEnd2End(model, conf=0.0, max_det=30, preprocess=Preprocess())
    net = trtnn.define(e2e, e2e.inputs((64, 64), batch=2), dtype="fp16", output_dtype="fp32", debug_outputs=["model"])
    img = torch.randint(0, 256, (2, 64, 64, 3), generator=torch.Generator().manual_seed(16), dtype=torch.uint8)
    got = Executor(net.network)({"images": img})
    got_raw = got[net.module_outputs["model"][0]].float()
    assert got_raw.shape == (2, 9, 84) and got["det_boxes"].dtype == torch.float32
    head = r.model[-1]
    head.max_det = 30
    check(got, pp.end2end_detections(head.postprocess(got_raw.transpose(1, 2)), 0.0, 30), 30)


def test_one2many_head_uses_nms():
    """--head one2many: the one-to-many branch (xywh) + End2End's NMS, as ultralytics with end2end=False."""
    r = reference("yolov10", "n", nc=4, seed=13)
    model = yolov10("n", 4)
    model.load_state_dict(r.state_dict())
    opts = dict(conf=0.25, iou=0.7, max_det=50, pre_nms_topk=1000, head="one2many", layout=None, bgr=True,
                runtime_thresholds=False, scale_to_orig=False)
    e2e = spec("yolov10n").end2end(model, opts)
    net = trtnn.define(e2e, e2e.inputs((64, 64)))
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(14))
    got = Executor(net.network)({"images": x})
    r.model[-1].end2end = False
    with torch.no_grad():
        dets = pp.v8_non_max_suppression(r(x), 0.25, 0.7, 50)
    assert len(dets[0].scores) > 0
    check(got, dets, 50)


def test_from_checkpoint_reads_nc(tmp_path):
    path = tmp_path / "yolo26n_nc3.pt"
    torch.save(reference("yolo26", "n", nc=3).state_dict(), path)
    assert from_checkpoint("yolo26n", str(path)).model[-1].nc == 3


# ------------------------------------------------------------------------------------------- CLI
def test_cli_builds_end2end_engines(tmp_path, capsys):
    """TensorRT-RTX builds: yolo26n one2one (default) in fp16 with a dynamic batch, yolov10n one2many (NMS)."""
    plan = tmp_path / "y26.plan"
    assert main(["build", "yolo26n", "--random-weights", "--imgsz", "64", "--end2end", "--dtype", "fp16",
                 "--max-batch", "2", "--runtime-thresholds", "--preprocess", "--orig-size", "-o", str(plan)]) == 0
    text = capsys.readouterr().out
    assert plan.stat().st_size > 0 and "det_boxes: -1x300x4 fp32" in text and "conf_thres: 1 fp32" in text
    assert "iou_thres" not in text and "orig_size: -1x2 int32" in text
    plan = tmp_path / "y10.plan"
    assert main(["build", "yolov10n", "--random-weights", "--imgsz", "64", "--end2end", "--head", "one2many",
                 "--runtime-thresholds", "-o", str(plan)]) == 0
    text = capsys.readouterr().out
    assert "det_boxes: 1x300x4 fp32" in text and "iou_thres: 1 fp32" in text


@pytest.mark.parametrize("argv,fragments", [
    (["yolov8n", "--end2end", "--head", "one2one"], ["--head", "'yolov8n' has a single detection head", "yolo26n"]),
    (["yolo26n", "--end2end", "--iou", "0.5"], ["--iou: NMS settings", "--head one2many"]),
    (["yolov10s", "--end2end", "--max-det", "4000"], ["--max-det 4000", "[1, 3840]"]),
    (["yolo26n", "--head", "one2many"], ["--head: only with --end2end"]),
], ids=["other-model", "iou-one2one", "max-det", "no-end2end"])
def test_cli_head_errors(argv, fragments, tmp_path, capsys):
    assert main(["build", *argv, "--random-weights", "--imgsz", "64", "-o", str(tmp_path / "x.plan")]) == 2
    err = capsys.readouterr().err
    assert all(f in err for f in fragments), err
    assert not list(tmp_path.iterdir())
