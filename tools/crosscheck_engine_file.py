"""Read trtnn's ultralytics-format engine files (`trtnn build ... --format ultralytics`) with ultralytics' own code.

    /work/venv-zoo/bin/python tools/crosscheck_engine_file.py [--dir /tmp/engine_crosscheck] [--trtnn-python python]

Run with a python that has ultralytics 8.4.190 (the venv's torch 2.14.1 runs on a CPU); nothing is built there. Step 1
(skipped when --dir already has manifest.json): trtnn's python writes the engines with TensorRT-RTX on this CPU
(`trtnn build ... --format ultralytics`, real checkpoints from ../shared/data where there are some, random weights
otherwise) and records, through trtnn's own reader, each plan's sha256 and trtnn's metadata. Step 2, in this python,
ultralytics' own functions on each file, the ones `YOLO("x.engine")` and its TensorRT backend call before TensorRT
is needed (deserializing the plan needs a GPU; this machine has none):

  AutoBackend._model_type(path)           the format from the file name ("engine" -> TensorRTBackend)
  YOLO(path).task                         Model._load -> guess_model_task -> BaseBackend.read_metadata
  BaseBackend.engine_header(path)         (offset of the plan, header dict): the lines TensorRTBackend.load_model uses
  TensorRTBackend.apply_metadata(header)  its conversions and the attributes it sets (stride, batch, imgsz, names, ...)
  check_class_names(names)                what AutoBackend makes of the names

and compares them with what they should be: the plan ultralytics would hand to TensorRT is the plan trtnn's reader
finds (sha256); names and task equal those in the checkpoint as ultralytics itself loads it (nn.tasks.load_checkpoint);
imgsz, batch, dynamic as built; the raw output's channels = 4 + len(names) (+ 32 mask coefficients, + K*3 keypoints
for kpt_shape, + 1 angle) so ultralytics' postprocess decodes it. Writes benchmarks/results/engine_file_crosscheck.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from typing import Any, Dict, List

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "engine_file_crosscheck.md")
DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))
# name, trtnn build arguments (after the model), checkpoint (in ../shared/data) or None for random weights
CASES = [
    ("yolov8n_shapes_fp16", ["yolov8n", "--imgsz", "128", "--dtype", "fp16"], "yolov8n_shapes.pt"),
    ("yolov8n-seg_shapes_dynamic", ["yolov8n-seg", "--imgsz", "128", "--max-batch", "4"], "yolov8n-seg_shapes.pt"),
    ("yolov10s_shapes", ["yolov10s", "--imgsz", "96x128"], "yolov10s_shapes.pt"),
    ("yolov8n-pose_random", ["yolov8n-pose", "--imgsz", "64", "--random-weights"], None),
    ("yolov8n-obb_random", ["yolov8n-obb", "--imgsz", "64", "--random-weights"], None),
    ("yolov8n-cls_random", ["yolov8n-cls", "--imgsz", "64", "--random-weights"], None),
]

MAKE = """
import hashlib, json, sys
from trtnn.io.engine_file import read_engine_file
f = read_engine_file(sys.argv[1])
print(json.dumps({"format": f.format, "plan_sha256": hashlib.sha256(f.plan).hexdigest(), "plan_bytes": len(f.plan),
                  "plan_backend": f.plan_backend, "metadata": f.metadata}))
"""


def make(folder: str, python: str) -> Dict[str, Any]:
    """Step 1 in trtnn's python: build every case as an ultralytics .engine and read it back with trtnn's reader."""
    os.makedirs(folder, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=ROOT)
    manifest: Dict[str, Any] = {}
    for name, args, ckpt in CASES:
        path = os.path.join(folder, name + ".engine")
        weights = ["--weights", os.path.join(DATA, ckpt)] if ckpt else []
        cmd = [python, "-m", "trtnn.cli", "build", *args, *weights, "--format", "ultralytics", "-o", path]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, env=env, check=True)
        out = subprocess.run([python, "-c", MAKE, path], env=env, check=True, capture_output=True, text=True).stdout
        manifest[name] = dict(json.loads(out), file=path, checkpoint=ckpt, command="trtnn " + " ".join(cmd[3:]))
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def expected_channels(task: str, nc: int, header: Dict[str, Any]) -> int:
    """The raw output's channel count ultralytics' postprocess decodes for `task` with `nc` classes."""
    extra = {"segment": 32, "obb": 1, "pose": int(np.prod(header.get("kpt_shape") or [0]))}
    return nc if task == "classify" else 4 + nc + extra.get(task, 0)


def check(name: str, entry: Dict[str, Any]) -> Dict[str, Any]:
    """Step 2 in ultralytics' python: its own reading of one file, compared with what it should find."""
    from ultralytics import YOLO
    from ultralytics.nn.autobackend import AutoBackend, check_class_names, default_class_names
    from ultralytics.nn.backends.base import BaseBackend
    from ultralytics.nn.backends.tensorrt import TensorRTBackend
    from ultralytics.nn.tasks import load_checkpoint

    path, meta = entry["file"], entry["metadata"]
    problems: List[str] = []
    fmt = AutoBackend._model_type(path)
    if fmt != "engine":
        problems.append(f"format {fmt!r}")
    offset, header = BaseBackend.engine_header(path)
    with open(path, "rb") as f:
        f.seek(offset)  # as TensorRTBackend.load_model does before runtime.deserialize_cuda_engine(f.read())
        plan = f.read()
    if hashlib.sha256(plan).hexdigest() != entry["plan_sha256"]:
        problems.append("the bytes ultralytics hands to TensorRT are not trtnn's plan")
    if BaseBackend.read_metadata(path) != header:
        problems.append("read_metadata differs from engine_header")
    backend = object.__new__(TensorRTBackend)  # its metadata handling without load_model's TensorRT runtime
    backend.dynamic = False
    backend.apply_metadata(json.loads(json.dumps(header)))
    names = check_class_names(getattr(backend, "names", None) or default_class_names())  # AutoBackend.__init__ fallback
    task = YOLO(path).task
    if entry["checkpoint"]:
        model, _ = load_checkpoint(os.path.join(DATA, entry["checkpoint"]))
        want_names, want_task = check_class_names(model.names), model.task
    else:  # random weights: trtnn's own metadata is the reference (classify without names: the class ids)
        want_names = {int(k): v for k, v in meta["names"].items()} or \
            {i: str(i) for i in range(meta["outputs"][0]["shape"][-1])}
        want_task = meta["task"]
    if names != want_names:
        diff = sorted(set(names.items()) ^ set(want_names.items()))[:4]
        problems.append(f"names: {len(names)} vs {len(want_names)} expected, differing {diff}")
    if task != want_task or backend.task != want_task:
        problems.append(f"task YOLO() {task!r}, backend {backend.task!r}, expected {want_task!r}")
    image = meta["inputs"][0]
    max_batch = max([p[image["name"]][2][0] for p in meta.get("profiles") or []] or [image["shape"][0]])
    if list(backend.imgsz) != list(image["shape"][2:]) or backend.batch != max_batch or \
            backend.dynamic != (image["shape"][0] == -1) or backend.stride != meta["stride"]:
        problems.append(f"imgsz {backend.imgsz} batch {backend.batch} dynamic {backend.dynamic} stride "
                        f"{backend.stride} vs engine input {image['shape']} (max batch {max_batch})")
    if backend.end2end:
        problems.append("end2end true: ultralytics would skip its NMS on raw outputs")
    channels = meta["outputs"][0]["shape"][1]
    want_channels = expected_channels(task, len(names), header)
    if channels != want_channels:
        problems.append(f"output0 has {channels} channels, ultralytics decodes {want_channels}")
    kpt = f", kpt_shape {backend.kpt_shape}" if task == "pose" else ""
    return {"name": name, "bytes": os.path.getsize(path), "offset": offset, "plan": entry["plan_backend"],
            "task": task, "nc": len(names), "first": names[0], "imgsz": backend.imgsz, "batch": backend.batch,
            "dynamic": backend.dynamic, "out": f"{meta['outputs'][0]['name']} {meta['outputs'][0]['shape']}{kpt}",
            "ref": "checkpoint (ultralytics load_checkpoint)" if entry["checkpoint"] else "trtnn metadata",
            "verdict": "agree" if not problems else "**MISMATCH**: " + "; ".join(problems)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/tmp/engine_crosscheck", help="where the engines and manifest.json go")
    ap.add_argument("--trtnn-python", default="python", help="trtnn's python (torch 2.13 + TensorRT-RTX), for step 1")
    args = ap.parse_args()
    manifest_path = os.path.join(args.dir, "manifest.json")
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    else:
        manifest = make(args.dir, args.trtnn_python)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    import ultralytics

    rows = [check(name, entry) for name, entry in manifest.items()]
    lines = [f"# trtnn's ultralytics-format engine files read by ultralytics {ultralytics.__version__}", "",
             f"`{os.path.basename(sys.executable)} tools/crosscheck_engine_file.py` with ultralytics "
             f"{ultralytics.__version__} (/work/venv-zoo: torch 2.14.1 on a CPU); the engines written by trtnn's "
             "`build --format ultralytics` with TensorRT-RTX on this CPU-only machine (commands below). Ultralytics' "
             "own functions read each file: `AutoBackend._model_type`, `YOLO(path).task`, "
             "`BaseBackend.engine_header` / `read_metadata`, `TensorRTBackend.apply_metadata`, `check_class_names` "
             "(after AutoBackend's `default_class_names` fallback). "
             "The reference names and task: the checkpoint as ultralytics' `load_checkpoint` loads it (random-weight "
             "engines: trtnn's metadata). **Not run**: `TensorRTBackend.load_model` past the header (deserializing "
             "the plan, binding `images`, predicting) needs a GPU and TensorRT; no GPU ran anything here.", "",
             "| engine | file bytes | plan offset | plan | task | classes (first) | imgsz | batch | dynamic | output 0 "
             "| names/task reference | ultralytics' reading |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['bytes']} | {r['offset']} | {r['plan']} | {r['task']} | {r['nc']} "
                     f"({r['first']}) | {r['imgsz']} | {r['batch']} | {r['dynamic']} | {r['out']} | {r['ref']} | "
                     f"{r['verdict']} |")
    lines += ["", "Commands (trtnn's python):", ""] + [f"    {e['command']}" for e in manifest.values()]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(RESULTS, "w") as f:
        f.write(text)
    return 0 if all(r["verdict"] == "agree" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
