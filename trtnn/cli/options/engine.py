"""`trtnn build`'s engine lifecycle and file format options: --strip-weights, --refit, --timing-cache,
--version-compatible, --hardware-compat, --compute-capability, --format ultralytics."""
from __future__ import annotations

import argparse
from typing import Any, Dict

from ...compile.lifecycle import COMPUTE_CAPABILITIES, HARDWARE_COMPAT, BuildOptions
from ...errors import ConfigError
from ...io.engine_file import write_ultralytics
from ...io.sidecar import sidecar_path


def add_engine_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine lifecycle and file format")
    g.add_argument("--strip-weights", action="store_true", help="weight-stripped plan (STRIP_PLAN): refit it on the "
                                                                "target with `trtnn refit` (a GPU builds it)")
    g.add_argument("--refit", action="store_true", help="refittable plan: weights replaceable by `trtnn refit`")
    g.add_argument("--timing-cache", metavar="FILE", help="builder timing cache, read and updated (full TensorRT)")
    g.add_argument("--version-compatible", action="store_true", help="runs on later TensorRT versions (full TensorRT)")
    g.add_argument("--hardware-compat", choices=tuple(HARDWARE_COMPAT), help="runs on other GPUs (full TensorRT)")
    g.add_argument("--compute-capability", metavar="CC[,CC]", help="TensorRT-RTX target GPUs, from "
                                                                   f"{', '.join(COMPUTE_CAPABILITIES)}")
    g.add_argument("--format", choices=("trtnn", "ultralytics"), default="trtnn",
                   help="trtnn: plan + <output>.json; ultralytics: its .engine layout (metadata header inside), "
                        "loadable by YOLO('x.engine')")


def engine_options(args: argparse.Namespace) -> BuildOptions:
    """The BuildOptions the flags ask for (checked before anything is defined)."""
    ccs = tuple(c.strip() for c in args.compute_capability.split(",")) if args.compute_capability else ()
    if args.strip_weights and args.refit:
        raise ConfigError("--strip-weights already makes the plan refittable; drop --refit")
    return BuildOptions(strip_weights=args.strip_weights, refit=args.refit, timing_cache=args.timing_cache,
                        version_compatible=args.version_compatible, hardware_compat=args.hardware_compat,
                        compute_capabilities=ccs)


def save_engine(engine: Any, path: str, metadata: Dict[str, Any], fmt: str) -> str:
    """Write the engine in `fmt`; returns where its metadata went."""
    if fmt == "ultralytics":
        write_ultralytics(path, engine.plan, metadata)
        return "inside the file (ultralytics header)"
    engine.save(path, metadata=metadata)
    return sidecar_path(path)
