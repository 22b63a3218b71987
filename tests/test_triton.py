"""Triton model repositories: config.pbtxt parsed with Triton's own model_config protobuf (tritonclient ships it; no
server), dims and batch limits checked against the engine metadata, for every family's end-to-end engine inputs."""
import importlib.util
import os

import pytest

import trtnn
from trtnn.deploy.triton import config_pbtxt, write_repository
from trtnn.io.engine_file import EngineFile

tritonclient = pytest.importorskip("tritonclient", reason="tritonclient (test extra) ships Triton's model_config")
text_format = pytest.importorskip("google.protobuf.text_format")


def model_config():
    path = os.path.join(os.path.dirname(tritonclient.__file__), "grpc", "model_config_pb2.py")
    spec = importlib.util.spec_from_file_location("triton_model_config_pb2", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the generated file alone: tritonclient.grpc's __init__ wants grpcio
    return module


PB = model_config()


def meta_for(task, inputs, outputs, max_batch=4, opt=2):
    profiles = [{i[0]: [[1, *i[1][1:]], [opt, *i[1][1:]], [max_batch, *i[1][1:]]] for i in inputs
                 if i[1][0] == -1}]
    return {"task": task, "names": {"0": "a", "1": "b"},
            "inputs": [{"name": n, "shape": s, "dtype": d} for n, s, d in inputs],
            "outputs": [{"name": n, "shape": s, "dtype": d} for n, s, d in outputs],
            "profiles": profiles}


DET = [("num_dets", [-1, 1], "int32"), ("det_boxes", [-1, 300, 4], "fp32"), ("det_scores", [-1, 300], "fp32"),
       ("det_classes", [-1, 300], "int32")]
IMG = [("images", [-1, 64, 64, 3], "uint8"), ("orig_size", [-1, 2], "int32")]
FAMILIES = {
    "detect": meta_for("detect", IMG, DET),
    "segment": meta_for("segment", IMG, DET + [("det_masks", [-1, 300, 64, 64], "uint8")]),
    "pose": meta_for("pose", IMG, DET + [("det_keypoints", [-1, 300, 17, 3], "fp32")]),
    "obb": meta_for("obb", IMG, [(n, [-1, 300, 5] if n == "det_boxes" else s, d) for n, s, d in DET]),
    "classify": meta_for("classify", IMG[:1], [("probs", [-1, 2], "fp32"), ("top5_classes", [-1, 5], "int32"),
                                               ("top5_scores", [-1, 5], "fp32")]),
    "unet": meta_for("semantic-segment", [("input", [-1, 3, 64, 64], "fp32")], [("output", [-1, 2, 64, 64], "fp32")]),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_config_parses_with_tritons_schema_and_matches_the_engine(family):
    meta = FAMILIES[family]
    cfg = text_format.Parse(config_pbtxt(meta, "m", instances=2), PB.ModelConfig())
    assert cfg.platform == "tensorrt_plan" and cfg.max_batch_size == 4
    assert [(i.name, list(i.dims)) for i in cfg.input] == [(i["name"], i["shape"][1:]) for i in meta["inputs"]]
    assert [(o.name, list(o.dims)) for o in cfg.output] == [(o["name"], o["shape"][1:]) for o in meta["outputs"]]
    assert PB.DataType.Name(cfg.input[0].data_type) == {"uint8": "TYPE_UINT8", "fp32": "TYPE_FP32"}[
        meta["inputs"][0]["dtype"]]
    assert cfg.HasField("dynamic_batching")
    assert [(g.count, list(g.profile), g.kind) for g in cfg.instance_group] == [(2, ["0"], PB.ModelInstanceGroup.KIND_GPU)]
    (warm,) = cfg.model_warmup
    assert warm.batch_size == 2 and list(warm.inputs[meta["inputs"][0]["name"]].dims) == meta["inputs"][0]["shape"][1:]
    labels = [o.label_filename for o in cfg.output if o.label_filename]
    assert labels == ([] if family == "unet" else ["labels.txt"])


def test_static_engine_runtime_thresholds_and_limits():
    meta = meta_for("detect", [("images", [1, 3, 64, 64], "fp32"), ("conf_thres", [1], "fp32")], DET)
    meta["outputs"] = [dict(o, shape=[1] + o["shape"][1:]) for o in meta["outputs"]]
    cfg = text_format.Parse(config_pbtxt(meta, "m"), PB.ModelConfig())
    assert cfg.max_batch_size == 0 and list(cfg.input[0].dims) == [1, 3, 64, 64] and not cfg.HasField("dynamic_batching")
    with pytest.raises(trtnn.ConfigError, match="no dynamic batch dimension"):
        config_pbtxt(meta, "m", max_batch=4)
    with pytest.raises(trtnn.ConfigError, match=r"accept batches 1\.\.4"):
        config_pbtxt(FAMILIES["detect"], "m", max_batch=5)
    assert text_format.Parse(config_pbtxt(FAMILIES["detect"], "m", max_batch=3), PB.ModelConfig()).max_batch_size == 3
    with pytest.raises(trtnn.ConfigError, match="--name"):
        config_pbtxt(FAMILIES["detect"], "bad name")


def test_repository_with_plans_per_gpu(tmp_path):
    engines = [EngineFile(f"e{k}.plan", b"plan%d" % k, FAMILIES["detect"], "trtnn") for k in range(2)]
    with pytest.raises(trtnn.ConfigError, match="--cc"):
        write_repository(engines, str(tmp_path), "det")
    folder = write_repository(engines, str(tmp_path), "det", compute_capabilities=["8.6", "12.0"])
    cfg = text_format.Parse(open(os.path.join(folder, "config.pbtxt")).read(), PB.ModelConfig())
    assert dict(cfg.cc_model_filenames) == {"8.6": "model_sm86.plan", "12.0": "model_sm120.plan"}
    assert open(os.path.join(folder, "1", "model_sm120.plan"), "rb").read() == b"plan1"
    assert open(os.path.join(folder, "labels.txt")).read() == "a\nb\n"


def test_cli_export_triton_from_a_built_engine(tmp_path):
    from trtnn.cli import main

    plan = tmp_path / "y.plan"
    assert main(["build", "yolov8n", "--random-weights", "--imgsz", "64", "--max-batch", "4", "--end2end",
                 "--preprocess", "--orig-size", "-o", str(plan)]) == 0
    assert main(["export-triton", str(plan), "--repo", str(tmp_path / "repo"), "--name", "yolo",
                 "--max-batch", "2"]) == 0
    cfg = text_format.Parse((tmp_path / "repo" / "yolo" / "config.pbtxt").read_text(), PB.ModelConfig())
    assert cfg.max_batch_size == 2 and [list(i.dims) for i in cfg.input] == [[64, 64, 3], [2]]
    assert (tmp_path / "repo" / "yolo" / "1" / "model.plan").read_bytes() == plan.read_bytes()
