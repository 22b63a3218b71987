"""Triton Inference Server model repositories from trtnn engines (platform tensorrt_plan):

    <repo>/<name>/config.pbtxt
    <repo>/<name>/labels.txt                (class names, one per line: label_filename of the first class output)
    <repo>/<name>/1/model.plan              (or model_sm86.plan, model_sm120.plan + cc_model_filenames)

config.pbtxt (text protobuf, Triton's model_config.proto): inputs/outputs with data types and dims (without the batch
dim when the engine's dim 0 is a dynamic batch: max_batch_size = the profile's max batch, dynamic batching on), one
instance group per optimization profile, warm-up requests at each profile's opt shape."""
from __future__ import annotations

import os
import re
from typing import Any, List, Mapping, Optional, Sequence

from ..errors import ConfigError
from ..io.engine_file import EngineFile
from ..io.files import atomic_write_bytes

TRITON_DTYPES = {"fp32": "TYPE_FP32", "fp16": "TYPE_FP16", "bf16": "TYPE_BF16", "int8": "TYPE_INT8",
                 "uint8": "TYPE_UINT8", "int32": "TYPE_INT32", "int64": "TYPE_INT64", "bool": "TYPE_BOOL",
                 "fp8": "TYPE_UINT8"}
NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
CC = re.compile(r"^\d+\.\d+$")


def _batched(meta: Mapping[str, Any]) -> bool:
    """Whether every input's dim 0 is a dynamic batch (Triton then owns the batch dimension)."""
    inputs = meta.get("inputs") or []
    return bool(inputs) and all(i["shape"] and i["shape"][0] == -1 for i in inputs) and \
        all(o["shape"] and o["shape"][0] == -1 for o in meta.get("outputs") or [])


def max_batch_size(meta: Mapping[str, Any], requested: Optional[int] = None) -> int:
    """Triton's max_batch_size: 0 for engines without a dynamic batch; else the smallest max batch over the profiles
    and inputs (every profile must accept it), or `requested` when it is within that."""
    if not _batched(meta):
        if requested:
            raise ConfigError(f"--max-batch {requested}: the engine has no dynamic batch dimension (its inputs: "
                              f"{[(i['name'], i['shape']) for i in meta.get('inputs', [])]}); rebuild with --max-batch")
        return 0
    profiles = meta.get("profiles") or []
    if not profiles:
        raise ConfigError("the engine metadata has dynamic inputs but no 'profiles' (built by an older trtnn?): "
                          "rebuild the engine so its optimization profiles are recorded")
    limit = min(p[name][2][0] for p in profiles for name in p)
    low = max(p[name][0][0] for p in profiles for name in p)
    if low > 1:
        raise ConfigError(f"a profile's min batch is {low}: Triton sends batches from 1 up, so every profile must "
                          f"accept batch 1")
    if requested is not None:
        if not 1 <= requested <= limit:
            raise ConfigError(f"--max-batch {requested}: the engine's profiles accept batches 1..{limit}")
        return requested
    return limit


def _dims(shape: Sequence[int], batched: bool) -> List[int]:
    return list(shape[1:] if batched else shape)


def _tensor(entry: Mapping[str, Any], batched: bool, kind: str, labels: bool = False) -> str:
    dtype = TRITON_DTYPES.get(entry["dtype"])
    if dtype is None:
        raise ConfigError(f"{kind} '{entry['name']}': dtype {entry['dtype']} has no Triton type")
    dims = _dims(entry["shape"], batched) or [1]
    lines = [f'  {{\n    name: "{entry["name"]}"\n    data_type: {dtype}\n    dims: [ {", ".join(map(str, dims))} ]']
    if not _dims(entry["shape"], batched):  # a scalar per request: Triton needs a dim; reshape to the engine's
        lines.append("    reshape: { shape: [ ] }")
    if labels:
        lines.append('    label_filename: "labels.txt"')
    return "\n".join(lines) + "\n  }"


def config_pbtxt(meta: Mapping[str, Any], name: str, *, max_batch: Optional[int] = None, instances: int = 1,
                 plans: Optional[Mapping[str, str]] = None, queue_delay_us: int = 100) -> str:
    """The text of config.pbtxt for an engine with trtnn metadata `meta`. `plans`: compute capability ('8.6') ->
    plan file name (cc_model_filenames), else the default model.plan."""
    if not meta.get("inputs"):
        raise ConfigError("the engine has no trtnn metadata (its <plan>.json, or the header of a trtnn-written "
                          "ultralytics .engine): Triton's config needs its inputs and outputs")
    if not NAME.match(name):
        raise ConfigError(f"--name {name!r}: use letters, digits, '_', '-', '.' (it is a folder name)")
    if not isinstance(instances, int) or instances < 1:
        raise ConfigError(f"--instances must be >= 1, got {instances!r}")
    batch = max_batch_size(meta, max_batch)
    batched = batch > 0
    label_output = _label_output(meta)
    lines = [f'name: "{name}"', 'platform: "tensorrt_plan"', f"max_batch_size: {batch}"]
    lines.append("input [\n" + ",\n".join(_tensor(i, batched, "input") for i in meta["inputs"]) + "\n]")
    lines.append("output [\n" + ",\n".join(_tensor(o, batched, "output", o["name"] == label_output)
                                          for o in meta["outputs"]) + "\n]")
    profiles = meta.get("profiles") or []
    groups = [f'  {{\n    name: "{name}_profile{k}"\n    kind: KIND_GPU\n    count: {instances}\n'
              f'    profile: [ "{k}" ]\n  }}' for k in range(len(profiles))] or \
        [f"  {{\n    kind: KIND_GPU\n    count: {instances}\n  }}"]
    lines.append("instance_group [\n" + ",\n".join(groups) + "\n]")
    if batched:
        lines.append(f"dynamic_batching {{\n  max_queue_delay_microseconds: {queue_delay_us}\n}}")
    warmups = [_warmup(meta, p, k, batched) for k, p in enumerate(profiles)] or [_warmup(meta, None, 0, batched)]
    lines.append("model_warmup [\n" + ",\n".join(warmups) + "\n]")
    if plans:
        for cc in plans:
            if not CC.match(cc):
                raise ConfigError(f"compute capability {cc!r}: expected MAJOR.MINOR, e.g. 8.6")
        lines.append("cc_model_filenames [\n" + ",\n".join(f'  {{ key: "{cc}" value: "{f}" }}'
                                                            for cc, f in plans.items()) + "\n]")
    return "\n".join(lines) + "\n"


def _label_output(meta: Mapping[str, Any]) -> Optional[str]:
    """The output whose values are class ids or per-class scores (label_filename), when the engine has names."""
    if not meta.get("names"):
        return None
    for cand in ("probs", "det_classes", "top5_classes"):
        if any(o["name"] == cand for o in meta.get("outputs", [])):
            return cand
    return None


def _warmup(meta: Mapping[str, Any], profile: Optional[Mapping[str, Any]], k: int, batched: bool) -> str:
    """One warm-up request: random data at the profile's opt shape (zeros for thresholds / sizes)."""
    batch = profile[next(iter(profile))][1][0] if profile and batched else 1
    entries = []
    for i in meta["inputs"]:
        shape = profile[i["name"]][1] if profile and i["name"] in profile else i["shape"]
        dims = _dims(shape, batched) or [1]
        data = "zero_data: true" if i["name"] in ("conf_thres", "iou_thres", "orig_size") else "random_data: true"
        entries.append(f'      {{\n        key: "{i["name"]}"\n        value: {{\n          data_type: '
                       f'{TRITON_DTYPES[i["dtype"]]}\n          dims: [ {", ".join(map(str, dims))} ]\n'
                       f'          {data}\n        }}\n      }}')
    return (f'  {{\n    name: "warmup_profile{k}"\n    batch_size: {batch}\n    count: 1\n    inputs [\n'
            + ",\n".join(entries) + "\n    ]\n  }")


def write_repository(engines: Sequence[EngineFile], repo: str, name: str, *, max_batch: Optional[int] = None,
                     instances: int = 1, compute_capabilities: Sequence[str] = (), version: int = 1) -> str:
    """Write `<repo>/<name>/` for `engines` (one, or one per GPU with `compute_capabilities` in the same order);
    returns the model folder. Engines with several plans must have the same inputs and outputs."""
    if not engines:
        raise ConfigError("export-triton needs at least one engine")
    if len(engines) > 1 and len(compute_capabilities) != len(engines):
        raise ConfigError(f"{len(engines)} plans given: say which GPU each is for with --cc (one MAJOR.MINOR per "
                          f"plan, e.g. --cc 8.6 --cc 12.0), got {len(compute_capabilities)}")
    meta = engines[0].metadata
    for e in engines[1:]:
        if [(t["name"], t["shape"], t["dtype"]) for t in e.metadata.get("inputs", []) + e.metadata.get("outputs", [])] \
                != [(t["name"], t["shape"], t["dtype"]) for t in meta.get("inputs", []) + meta.get("outputs", [])]:
            raise ConfigError(f"'{e.path}' has other inputs/outputs than '{engines[0].path}': one Triton model "
                              f"serves one interface")
    plans = {cc: f"model_sm{cc.replace('.', '')}.plan" for cc in compute_capabilities} if compute_capabilities \
        else None
    text = config_pbtxt(meta, name, max_batch=max_batch, instances=instances, plans=plans)
    folder = os.path.join(repo, name)
    version_dir = os.path.join(folder, str(version))
    try:
        os.makedirs(version_dir, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--repo {repo}: cannot create '{version_dir}': {e.strerror or e}") from None
    files = list(plans.values()) if plans else ["model.plan"]
    for engine, filename in zip(engines, files):
        atomic_write_bytes(os.path.join(version_dir, filename), engine.plan, what="Triton model plan")
    atomic_write_bytes(os.path.join(folder, "config.pbtxt"), text.encode(), what="Triton config.pbtxt")
    names = meta.get("names") or {}
    if _label_output(meta):
        ids = sorted(int(k) for k in names)
        atomic_write_bytes(os.path.join(folder, "labels.txt"),
                           "".join(f"{names[str(i)] if str(i) in names else names.get(i, i)}\n" for i in ids).encode(),
                           what="Triton labels file")
    return folder

