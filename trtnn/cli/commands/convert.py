"""`trtnn convert`: weights between .pt/.pth, .safetensors, .npz and tensorrtx .wts."""
from __future__ import annotations

import argparse
from typing import Any, List

from ...io.checkpoint import convert
from ...io.files import check_output_path
from ..args import check_readable
from . import SUMMARIES


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("convert", parents=parents,
                       help=SUMMARIES["convert"])
    p.add_argument("src", help="checkpoint to read")
    p.add_argument("dst", help="file to write; the format follows its extension")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_readable(args.src, "SRC")
    check_output_path(args.dst, what="DST", not_same_as=[args.src])
    n = convert(args.src, args.dst)
    print(f"wrote {args.dst}: {n} tensors")
    return 0
