"""trtnn.runtime on the CPU device: binding, profile choice, batching, results and drawing over every shipped family
(end to end, tiny image sizes, random weights); the GPU path is in test_runtime_gpu.py (skipped without a GPU)."""
import types

import numpy as np
import pytest
import torch

import trtnn
import trtnn.nn as nn
from trtnn.cli import build_parser, main
from trtnn.cli.commands import build as build_cmd
from trtnn.io.sidecar import describe_model, engine_metadata
from trtnn.runtime import Results, Runner, draw, results_from, select_profile
from trtnn.runtime.bindings import Profile
from trtnn.runtime.drawing import MASK_ALPHA, color

cv2 = pytest.importorskip("cv2")


def _runner(target, *extra, imgsz=64):
    argv = ["build", target, "--random-weights", "--imgsz", str(imgsz), "-o", "/tmp/unused.plan", *extra]
    args = build_parser().parse_args(argv)
    model, inputs, _ = build_cmd.prepare(args)
    net = trtnn.define(model, inputs, output_dtype="fp32" if "--end2end" in extra else None)
    spec = trtnn.models.registry.SPECS[target]
    shell = types.SimpleNamespace(backend="cpu", inputs=net.inputs, outputs=net.outputs)
    meta = engine_metadata(shell, describe_model(model), names={i: f"c{i}" for i in range(describe_model(model)["nc"] or 1000)},
                           task=spec.task, imgsz=(imgsz, imgsz), stride=spec.stride, target=target)
    return Runner(net, device="cpu", metadata=meta)


E2E = ["--end2end", "--preprocess", "--max-batch", "2"]
FAMILIES = [("yolov8n", E2E + ["--orig-size", "--conf", "0.0"], "detect"),
            ("yolov8n-seg", E2E + ["--orig-size", "--conf", "0.0"], "segment"),
            ("yolov8n-pose", E2E + ["--orig-size", "--conf", "0.0"], "pose"),
            ("yolov8n-obb", E2E + ["--orig-size", "--conf", "0.0"], "obb"),
            ("yolo26n", E2E + ["--orig-size", "--conf", "0.0"], "detect"),
            ("centernet_res18", E2E + ["--orig-size", "--conf", "0.0"], "detect"),
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
        return
    if task == "semantic-segment":
        assert r.semantic.shape == (64, 64)
        out = draw(r.image, r)
        assert out.shape == r.image.shape
        return
    assert len(r) > 0, "conf 0 keeps detections"
    assert r.labels[0] == f"c{int(r.classes[0])}"
    assert r.image.shape == (90, 120, 3), "orig_size: results in the original image's pixels"
    assert r.boxes.shape[1] == (5 if task == "obb" else 4)
    if task == "segment":
        assert r.masks.shape == (len(r), 90, 120) and r.masks.dtype == bool
    if task == "pose":
        assert r.keypoints.shape == (len(r), 17, 3) and r.keypoint_names[0] == "nose"
        assert set(r.summary()[0]["keypoints"]) >= {"nose", "left_ankle"}
    # the same image in the two chunks (batch 2, then 1): the same best detection (random-weight ties near the NMS
    # threshold may differ by a row between batch sizes)
    np.testing.assert_allclose(results[0].scores[0], results[2].scores[0], rtol=1e-4)
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
    if not trtnn.backend.runtime_status()[0]:
        (tmp_path / "x.plan").write_bytes(b"vtrt")
        assert main(["run", str(tmp_path / "x.plan"), str(folder)]) == 2
        err = capsys.readouterr().err
        assert "cannot execute TensorRT engines here" in err and "--device cpu" in err
        assert main(["bench", str(tmp_path / "x.plan")]) == 2
        assert "--device cpu" in capsys.readouterr().err
