"""trtnn.runtime on the CPU device: binding, profile choice, batching, results and drawing over every shipped family
(end to end, tiny image sizes, random weights); the GPU path is in test_runtime_gpu.py (skipped without a GPU)."""
import json
import types

import numpy as np
import pytest
import torch

import trtnn
import trtnn.nn as nn
from trtnn.cli import build_parser, main
from trtnn.cli.commands import build as build_cmd
from trtnn.io.sidecar import engine_metadata
from trtnn.models import describe_model, sidecar_meanings
from trtnn.runtime import Results, Runner, draw, results_from, select_profile
from trtnn.runtime.bindings import Profile
from trtnn.runtime.drawing import MASK_ALPHA, color

cv2 = pytest.importorskip("cv2")


def _runner(target, *extra, imgsz=64):
    torch.manual_seed(0)  # the random weights, whatever ran before (the checks below need varied outputs)
    argv = ["build", target, "--random-weights", "--imgsz", str(imgsz), "-o", "/tmp/unused.plan", *extra]
    args = build_parser().parse_args(argv)
    model, inputs, _ = build_cmd.prepare(args)
    spec = trtnn.models.registry.SPECS[target]
    _spread_class_scores(model, describe_model(model, spec)["nc"], 2.0 if target.startswith("centernet") else 40.0)
    net = trtnn.define(model, inputs, output_dtype="fp32" if "--end2end" in extra else None)
    shell = types.SimpleNamespace(backend="cpu", inputs=net.inputs, outputs=net.outputs)
    facts = describe_model(model, spec)
    meta = engine_metadata(shell, facts, names={i: f"c{i}" for i in range(facts["nc"] or 1000)}, task=spec.task.name,
                           imgsz=(imgsz, imgsz), stride=spec.stride, target=target,
                           meanings=sidecar_meanings(spec, "--end2end" in extra))
    return Runner(net, device="cpu", metadata=meta)


def _spread_class_scores(model, nc, class_scale):
    """Default-initialised random weights shrink the features layer by layer, so every class logit is about its
    bias (scores within 0.002 of each other, many equal to the last bit). He-initialised convolutions keep the
    features alive and the class convolutions (1x1, nc outputs) spread the scores over (0, 1): no two kept
    detections are within the batch-1 vs batch-2 rounding of each other, so the NMS order is exact. `class_scale`:
    CenterNet's residual features are ~100x larger than YOLO's at the class convolution (scores in 0.75..0.80 with
    2, YOLO's in 0.55..0.9 with 40)."""
    gen = torch.Generator().manual_seed(1)
    for name, m in model.named_modules():
        if type(m).__name__ == "Conv2d":
            fan_in = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]
            cls = m.weight.shape[0] == nc and m.weight.shape[2:] == (1, 1) and not name.endswith(".conv")
            m.weight.data = torch.randn(m.weight.shape, generator=gen) * (class_scale if cls else 1.4) / fan_in ** 0.5


E2E = ["--end2end", "--preprocess", "--max-batch", "2"]
FAMILIES = [("yolov8n", E2E + ["--orig-size", "--conf", "0.0", "--max-det", "10"], "detect"),
            ("yolov8n-seg", E2E + ["--orig-size", "--conf", "0.0", "--max-det", "10"], "segment"),
            ("yolov8n-pose", E2E + ["--orig-size", "--conf", "0.0", "--max-det", "10"], "pose"),
            ("yolov8n-obb", E2E + ["--orig-size", "--conf", "0.0", "--max-det", "10"], "obb"),
            ("yolo26n", E2E + ["--orig-size", "--conf", "0.0", "--max-det", "10"], "detect"),
            ("centernet_res18", E2E + ["--orig-size", "--conf", "0.0", "--max-det", "10"], "detect"),
            ("yolov8n-cls", E2E, "classify"),
            ("unet", ["--max-batch", "2"], "semantic-segment")]


@pytest.mark.parametrize("target,extra,task", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_every_family_end_to_end_on_cpu(target, extra, task):
    """Three images through a profile of max batch 2 (two chunks), results per image with names, drawn by pixels."""
    runner = _runner(target, *extra)
    rng = np.random.default_rng(0)
    a, b = ((rng.random((90, 120, 3)) * 255).astype(np.uint8) for _ in range(2))
    results = runner.predict([a, b, a])  # unet: float input, fed the family's own preprocessing
    assert len(results) == 3 and all(r.task == task for r in results)
    r = results[0]
    if task == "classify":
        assert r.probs.shape == (1000,) and abs(r.probs.sum() - 1) < 1e-3
        assert r.summary()[0]["name"] == f"c{r.top5[0]}"
        # batch 1 = batch 2's first image; random weights keep the probabilities near 1/1000, another image moves
        # them by ~1e-5
        np.testing.assert_allclose(results[2].probs, r.probs, rtol=0, atol=1e-7)
        assert np.abs(results[1].probs - r.probs).max() > 1e-6, "another image, other probabilities"
        return
    if task == "semantic-segment":
        assert r.semantic.shape == (64, 64)
        out = draw(r.image, r)
        assert out.shape == r.image.shape
        assert (results[2].semantic == r.semantic).all() and (results[1].semantic != r.semantic).any()
        return
    assert len(r) == 10, "conf 0 keeps --max-det 10 detections"
    assert r.labels[0] == f"c{int(r.classes[0])}"
    assert r.image.shape == (90, 120, 3), "orig_size: results in the original image's pixels"
    assert r.boxes.shape[1] == (5 if task == "obb" else 4)
    if task == "segment":
        assert r.masks.shape == (len(r), 90, 120) and r.masks.dtype == bool
    if task == "pose":
        assert r.keypoints.shape == (len(r), 17, 3) and r.keypoint_names[0] == "nose"
        assert set(r.summary()[0]["keypoints"]) >= {"nose", "left_ankle"}
    assert np.diff(np.sort(r.scores)).min() > 2e-5, "spread scores: no near-ties for NMS to order by rounding"
    # the same image in the two chunks (batch 2, then batch 1): every detection the same
    same = results[2]
    assert len(same) == len(r) and same.classes.tolist() == r.classes.tolist()
    assert np.abs(np.sort(results[1].scores) - np.sort(r.scores)).max() > 1e-4, "another image, other detections"
    np.testing.assert_allclose(same.scores, r.scores, rtol=0, atol=1e-5)
    np.testing.assert_allclose(same.boxes, r.boxes, rtol=0, atol=1e-2)
    if task == "segment":
        assert (same.masks != r.masks).mean() < 1e-3
    if task == "pose":
        np.testing.assert_allclose(same.keypoints, r.keypoints, rtol=0, atol=1e-2)
    assert (draw(r.image, r) != r.image).any()


def _outputs(boxes, scores, classes, **extra):
    n = len(scores)
    out = {"num_dets": torch.tensor([[n]], dtype=torch.int32),
           "det_boxes": torch.zeros(1, 5, boxes.shape[1]), "det_scores": torch.zeros(1, 5),
           "det_classes": torch.zeros(1, 5, dtype=torch.int32)}
    out["det_boxes"][0, :n] = torch.tensor(boxes, dtype=torch.float32)
    out["det_scores"][0, :n] = torch.tensor(scores)
    out["det_classes"][0, :n] = torch.tensor(classes, dtype=torch.int32)
    out.update(extra)
    return out


def test_results_split_rows_past_num_dets_and_name_classes():
    out = _outputs(np.array([[10, 10, 50, 40], [0, 0, 5, 5]]), [0.9, 0.3], [2, 0])
    (r,) = results_from(out, "detect", {"0": "cat", "2": "dog"})
    assert len(r) == 2 and r.labels == ["dog", "cat"]
    assert r.summary()[0] == {"name": "dog", "class": 2, "confidence": pytest.approx(0.9),
                              "box": {"x1": 10.0, "y1": 10.0, "x2": 50.0, "y2": 40.0}}
    with pytest.raises(trtnn.ConfigError, match="raw head outputs"):
        results_from({"output": torch.zeros(1, 84, 100)}, "detect", {})


def test_drawing_by_pixels():
    """Box edges in the class colour, mask pixels blended at 50 %, keypoint dots, untouched pixels unchanged."""
    image = np.full((100, 120, 3), 100, np.uint8)
    mask = np.zeros((1, 100, 120), bool)
    mask[0, 70:90, 70:100] = True
    kpts = np.zeros((1, 17, 3), np.float32)
    kpts[0, 0] = (30, 80, 0.9)
    r = Results("pose", {3: "thing"}, np.array([[20, 30, 60, 60]], np.float32), np.array([0.8], np.float32),
                np.array([3]), mask, kpts, [f"k{i}" for i in range(17)])
    out = draw(image, r, line_width=2, labels=False)
    assert tuple(out[45, 20]) == color(3) and tuple(out[60, 40]) == color(3)  # left and bottom edges
    blended = np.round(100 * (1 - MASK_ALPHA) + np.array(color(3)) * MASK_ALPHA).astype(np.uint8)
    assert tuple(out[80, 85]) == tuple(blended)
    assert tuple(out[80, 30]) == color(20)  # keypoint 0 dot
    assert tuple(out[5, 110]) == (100, 100, 100) and tuple(out[45, 40]) == (100, 100, 100)
    labelled = draw(image, r, line_width=2)
    assert (labelled[20:30, 20:60] != 100).any(), "the label sits above the box"


def _dyn_net():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
    return trtnn.define(model, [trtnn.Input("x", (-1, 3, 8, 8), min_shape=(1, 3, 8, 8), max_shape=(2, 3, 8, 8))])


def test_profiles_chosen_by_shape_and_batches_split():
    runner = Runner(_dyn_net(), device="cpu", profiles=[{"x": ((3, 3, 8, 8), (4, 3, 8, 8), (4, 3, 8, 8))}])
    assert [p.index for p in runner.profiles] == [0, 1]
    assert select_profile(runner.profiles, {"x": (2, 3, 8, 8)}) == 0
    assert select_profile(runner.profiles, {"x": (4, 3, 8, 8)}) == 1
    x = torch.randn(9, 3, 8, 8)
    whole = runner({"x": x})["output"]
    assert whole.shape == (9, 4, 8, 8)
    torch.testing.assert_close(whole[5:6], runner(x[5:6])["output"])  # chunks of 4 = the same numbers
    with pytest.raises(trtnn.InputError, match=r"fit none of the engine's optimization profiles: profile 0"):
        select_profile(runner.profiles, {"x": (1, 3, 9, 8)})


def test_binding_errors_name_the_input():
    runner = Runner(_dyn_net(), device="cpu")
    with pytest.raises(trtnn.InputError, match=r"input 'x': expected dtype fp32, got fp16"):
        runner({"x": torch.zeros(1, 3, 8, 8, dtype=torch.float16)})
    with pytest.raises(trtnn.InputError, match=r"unknown input\(s\) \['y'\]"):
        runner({"y": torch.zeros(1, 3, 8, 8)})
    with pytest.raises(trtnn.InputError, match=r"input 'x': expected shape \(-1, 3, 8, 8\)"):
        runner(np.zeros((1, 3, 8, 9), np.float32))
    out = runner(np.ones((1, 3, 8, 8), np.float32))["output"]  # numpy copied in
    assert out.shape == (1, 4, 8, 8)


def test_cpu_refuses_plans_and_gpu_options():
    with pytest.raises(trtnn.BackendError, match="runs only on an NVIDIA GPU"):
        Runner(b"plan", device="cpu")
    with pytest.raises(trtnn.ConfigError, match="cuda_graph, contexts and runtime_cache are for GPU engines"):
        Runner(_dyn_net(), device="cpu", cuda_graph=True)
    with pytest.raises(trtnn.ConfigError, match="device must be"):
        Runner(_dyn_net(), device="tpu")
    with pytest.raises(trtnn.ShapeError, match="dimension 0 needs min <= opt <= max"):
        Runner(_dyn_net(), device="cpu", profiles=[{"x": ((3, 3, 8, 8), (2, 3, 8, 8), (4, 3, 8, 8))}])


def test_profile_max_batch():
    p = Profile(0, {"a": ((1, 3), (2, 3), (8, 3)), "b": ((1, 2), (2, 2), (4, 2))})
    assert p.max_batch == 4 and p.fits({"a": (3, 3), "b": (3, 2)}) and not p.fits({"a": (5, 3), "b": (5, 2)})


def test_cli_run_cpu_draws_and_engine_needs_gpu(tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((50, 70, 3), 90, np.uint8))
    assert main(["run", "yolov8n", str(folder), "--device", "cpu", "--imgsz", "64", "--conf", "0.0",
                 "--save", str(tmp_path / "out"), "--json"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert '"results": [{"name": "' in line
    drawn = cv2.imread(str(tmp_path / "out" / "a.png"))
    assert drawn.shape == (50, 70, 3) and (drawn != 90).any()
    # ultralytics' predict options: --max-det, --classes (a filter), --conf; refused where a model has no use for them
    torch.manual_seed(0)  # the same random weights in both runs
    assert main(["run", "yolov8n", str(folder), "--device", "cpu", "--imgsz", "64", "--conf", "0.0", "--max-det",
                 "7", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["results"]
    assert len(rows) == 7
    keep = sorted({r["class"] for r in rows})[:1]
    torch.manual_seed(0)
    assert main(["run", "yolov8n", str(folder), "--device", "cpu", "--imgsz", "64", "--conf", "0.0", "--max-det",
                 "7", "--classes", str(keep[0]), "--json"]) == 0
    kept = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["results"]
    assert kept == [r for r in rows if r["class"] in keep] and len(kept) < len(rows)
    for argv, message in [(["unet", "--conf", "0.3"], "--conf: detection thresholds, but 'unet' is a "),
                          (["yolov8n-cls", "--iou", "0.5"], "--iou: detection thresholds, but 'yolov8n-cls' is a "),
                          (["yolov8n-cls", "--classes", "1"], "--classes filters detections"),
                          (["yolov8n", "--conf", "1.5"], "--conf 1.5: must be in [0, 1]"),
                          (["yolov8n", "--classes", "-1"], "--classes -1: must be >= 0")]:
        assert main(["run", argv[0], str(folder), "--device", "cpu", "--imgsz", "64", *argv[1:]]) == 2
        assert message in capsys.readouterr().err, argv
    if not trtnn.backend.runtime_status()[0]:
        (tmp_path / "x.plan").write_bytes(b"vtrt")
        assert main(["run", str(tmp_path / "x.plan"), str(folder)]) == 2
        err = capsys.readouterr().err
        assert "cannot execute TensorRT engines here" in err and "--device cpu" in err
        assert main(["run", str(tmp_path / "x.plan"), str(folder), "--max-det", "5"]) == 2
        assert "--max-det: for --device cpu with a model name" in capsys.readouterr().err
        assert main(["bench", str(tmp_path / "x.plan")]) == 2
        assert "--device cpu" in capsys.readouterr().err
