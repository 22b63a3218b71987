"""Ultralytics' .engine layout (4-byte little-endian length, JSON, plan) written by trtnn and read back by a reader
written from ultralytics' documented format (its TensorRT backend's logic), and by trtnn's own reader."""
import json

import pytest

import trtnn
from trtnn.io.engine_file import encode_ultralytics, read_engine_file, split_ultralytics, write_ultralytics

PLAN = b"vtrt" + bytes(range(60))
META = {"schema": "trtnn.engine/1", "task": "pose", "names": {"0": "person"}, "imgsz": [64, 96], "stride": 32,
        "precision": "fp16", "target": "yolov8n-pose",
        "inputs": [{"name": "images", "shape": [-1, 3, 64, 96], "dtype": "fp32"}],
        "outputs": [{"name": "output", "shape": [-1, 56, 126], "dtype": "fp32"}],
        "profiles": [{"images": [[1, 3, 64, 96], [2, 3, 64, 96], [8, 3, 64, 96]]}]}


def ultralytics_reader(path):
    """ultralytics' TensorRT backend: read the length, the JSON, then the plan; apply_metadata's conversions."""
    with open(path, "rb") as f:
        meta_len = int.from_bytes(f.read(4), byteorder="little")
        metadata = json.loads(f.read(meta_len).decode("utf-8"))
        plan = f.read()
    for k, v in metadata.items():
        if k in {"stride", "batch", "channels"}:
            metadata[k] = int(v)
    names = {int(k): str(v) for k, v in metadata["names"].items()}  # check_class_names
    return metadata, names, plan


def test_ultralytics_reader_accepts_trtnns_header(tmp_path):
    path = tmp_path / "y.engine"
    write_ultralytics(path, PLAN, META)
    meta, names, plan = ultralytics_reader(path)
    assert plan == PLAN and names == {0: "person"}
    assert (meta["task"], meta["stride"], meta["batch"], meta["imgsz"], meta["kpt_shape"]) == ("pose", 32, 8, [64, 96],
                                                                                               [17, 3])
    assert meta["args"] == {"batch": 8, "dynamic": True, "half": True, "int8": False, "nms": False}
    assert meta["channels"] == 3 and meta["end2end"] is False


def test_trtnn_reads_both_formats(tmp_path):
    path = tmp_path / "y.engine"
    write_ultralytics(path, PLAN, META)
    file = read_engine_file(path)
    assert (file.format, file.plan, file.metadata, file.plan_backend) == ("ultralytics", PLAN, META, "tensorrt_rtx")
    plain = tmp_path / "p.plan"
    plain.write_bytes(PLAN)
    assert read_engine_file(plain).format == "plan" and read_engine_file(plain).plan == PLAN
    (tmp_path / "p.plan.json").write_text(json.dumps(META))
    assert read_engine_file(plain).metadata == META
    # a header written by ultralytics itself (no trtnn copy): names and task taken from its keys
    theirs = tmp_path / "u.engine"
    text = json.dumps({"task": "detect", "names": {"0": "cat", "1": "dog"}, "stride": 32, "imgsz": [640, 640],
                       "batch": 1})
    theirs.write_bytes(len(text).to_bytes(4, "little", signed=True) + text.encode() + PLAN)
    got = read_engine_file(theirs)
    assert got.metadata["names"] == {"0": "cat", "1": "dog"} and got.metadata["task"] == "detect"


def test_header_detection_and_refusals(tmp_path):
    assert split_ultralytics(PLAN) == (None, PLAN)
    assert split_ultralytics(b"\xff\xff\xff\x7fxyz") == (None, b"\xff\xff\xff\x7fxyz")
    data = encode_ultralytics(PLAN, {"names": {"0": "é"}})
    assert split_ultralytics(data)[0] == {"names": {"0": "é"}}  # ASCII-escaped: length in characters = bytes
    e2e = dict(META, outputs=[{"name": "num_dets", "shape": [-1, 1], "dtype": "int32"}])
    with pytest.raises(trtnn.ConfigError, match="end-to-end outputs"):
        write_ultralytics(tmp_path / "x.engine", PLAN, e2e)
    uint8 = dict(META, inputs=[{"name": "images", "shape": [-1, 64, 96, 3], "dtype": "uint8"}])
    with pytest.raises(trtnn.ConfigError, match="one float NCHW input named 'images'"):
        write_ultralytics(tmp_path / "x.engine", PLAN, uint8)
    (tmp_path / "empty.plan").write_bytes(b"")
    with pytest.raises(trtnn.FileError, match="is empty"):
        read_engine_file(tmp_path / "empty.plan")
