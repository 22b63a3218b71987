"""`trtnn build`'s engine sidecar (`<engine>.json`, trtnn.io.sidecar): class names from --names, else the checkpoint's
own (ultralytics' `names`), else the class ids; task, image size, stride and precision from the arguments."""
from __future__ import annotations

import argparse
import os
from typing import Any, Dict, Optional

from ...errors import ConfigError
from ...models.registry import ModelSpec, sidecar_meanings
from ..args import check_readable, head_choice, image_hw, image_layout, image_ranges, parse_imgsz, weights_metadata


def add_metadata_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--names", metavar="FILE", help="class names for the engine's <output>.json: a text file (one "
                                                   "name per line) or JSON (a list or {\"0\": name}); default: the "
                                                   "checkpoint's names, else the class ids")


def check_metadata_args(args: argparse.Namespace) -> None:
    check_readable(args.names, "--names")


def names_arg(args: argparse.Namespace, nc: Optional[int]) -> Optional[Dict[int, str]]:
    """The class names --names gives (None without it), checked against the model's class count `nc`."""
    from ...io.sidecar import read_names  # start-up time: io is imported when a command reads a file

    if not args.names:
        return None
    names = read_names(args.names)
    if nc is not None and len(names) != nc:
        raise ConfigError(f"--names {args.names}: {len(names)} names for a model with {nc} classes")
    return names


def _task(spec: Optional[ModelSpec], checkpoint: Dict[str, Any]) -> Optional[str]:
    if "task" in checkpoint:
        return checkpoint["task"]
    return None if spec is None else spec.task.name


def cli_metadata(args: argparse.Namespace, spec: Optional[ModelSpec], facts: Dict[str, Any],
                 engine: Any) -> Dict[str, Any]:
    """The sidecar of an engine `trtnn build` made (`facts`: trtnn.models.describe_model of the built module); the
    meanings of its inputs and outputs are the registered model's TaskSpec's."""
    from ...io.sidecar import engine_metadata  # start-up time: io is imported when a command writes a file

    checkpoint = weights_metadata(args)
    names = names_arg(args, facts["nc"]) or checkpoint.get("names")
    imgsz = None
    if spec is not None:
        shaped = image_ranges(args, spec, None)  # --min/--opt/--max: the largest size they give
        imgsz = parse_imgsz(args.imgsz, spec.stride, args.target) if args.imgsz else \
            image_hw(shaped, image_layout(args, spec).nhwc) if shaped is not None else spec.imgsz
    precision = args.dtype or "fp32"
    if precision in ("int8", "fp8"):
        precision += f" (rest {args.base_dtype})"
    source = {k: v for k, v in checkpoint.items() if k != "names"}
    if args.weights:
        source["weights"] = os.path.basename(args.weights)
    head = head_choice(args, spec)
    end2end = bool(getattr(args, "end2end", False))
    meanings = sidecar_meanings(spec, end2end, head[0] if head else None) if spec is not None else {}
    meta = engine_metadata(engine, facts, names=names, task=_task(spec, checkpoint), imgsz=imgsz,
                           stride=spec.stride if spec is not None else None, precision=precision,
                           meanings=meanings, target=args.target, source=source)
    if spec is not None:  # the image input, whatever --input named it
        meta["inputs"][0]["meaning"] = spec.task.image_input
    if head is not None:
        meta["head"] = {"branch": head[0], "why": head[1]}
    return meta
