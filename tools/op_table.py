"""Write docs/ops.md: every torch.nn module and torch.nn.functional op, and whether trtnn has it (same name).

    python tools/op_table.py            # rewrite docs/ops.md
    python tools/op_table.py --check    # exit 1 if docs/ops.md is out of date

A torch name counts as supported when trtnn.nn / trtnn.functional defines the same name; NOTES adds the limits.
"""
import argparse
import os
import sys
from typing import Dict, List, Tuple

import torch
import torch.nn
import torch.nn.functional

import trtnn.functional
import trtnn.nn
from trtnn.io.files import atomic_write_bytes, check_output_path

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "ops.md")
NOT_OPS = {"typing", "torch.overrides", "torch._jit_internal"}  # helpers torch.nn.functional imports

NOTES: Dict[str, str] = {
    "MultiheadAttention": "add_bias_kv/add_zero_attn False only; need_weights=False uses TensorRT's attention layer",
    "scaled_dot_product_attention": "dropout_p=0, enable_gqa=False; TensorRT IAttention for 4-D inputs",
    "interpolate": "no antialias; area: 1-D/2-D",
    "Upsample": "modes of interpolate",
    "max_pool1d": "no dilation, no return_indices", "max_pool2d": "no dilation, no return_indices",
    "max_pool3d": "no dilation, no return_indices", "MaxPool1d": "no dilation, no return_indices",
    "MaxPool2d": "no dilation, no return_indices", "MaxPool3d": "no dilation, no return_indices",
    "embedding": "max_norm=None", "Embedding": "max_norm=None",
    "einsum": "no '...'", "layer_norm": "TensorRT normalization layer", "LayerNorm": "TensorRT normalization layer",
    "group_norm": "TensorRT normalization layer", "GroupNorm": "TensorRT normalization layer",
    "instance_norm": "TensorRT normalization layer", "rms_norm": "exact decomposition", "RMSNorm": "exact decomposition",
    "batch_norm": "inference; folded into a preceding convolution",
    "dropout": "identity (inference)", "Dropout": "identity (inference)",
    "grid_sample": "2-D", "deform_conv2d": "torchvision.ops",
    "TransformerEncoder": "no nested-tensor fast path (padded positions are computed, not zeroed)",
}


# What must stay static when the other dims are dynamic (-1), and why; every other op works with any dim dynamic,
# its sizes computed in the engine (tests/test_dynamic.py runs each op group at two shapes of one network).
STATIC_ONLY: List[Tuple[str, str, str]] = [
    ("split(x, int, dim)", "dim `dim`", "the number of outputs would depend on the runtime size: give the section "
                                        "sizes as a list, or use chunk (always `chunks` outputs)"),
    ("interpolate(recompute_scale_factor=True)", "the spatial dims, for a non-integer scale_factor",
     "the output size floor(n * f) is float arithmetic; integer factors and size= work"),
    ("interpolate(mode='area', scale_factor=)", "the spatial dims", "area is adaptive average pooling to a fixed "
                                                                    "output size: give size="),
    ("avg_pool*(divisor_override=, ceil_mode=True)", "the spatial dims", "the sum over a window hanging past the "
                                                                         "input has no TensorRT pooling equivalent"),
    ("adaptive_*_pool*, topk, unflatten, pixel_shuffle", "the arguments (output_size, k, sizes, factor)",
     "Python ints, as in torch; the tensor's dims may all be dynamic"),
    ("conv*, batch_norm, group_norm, instance_norm, deform_conv2d", "the channel dim (1)",
     "the weights and affine parameters are per channel"),
    ("linear, layer_norm, rms_norm, embedding", "the dims the weights cover", "the weight shapes fix them"),
    ("ClassifyEnd2End with src_hw", "the image height/width", "the resize matrices are built for src_hw"),
]


def _dynamic_section() -> str:
    rows = [f"| `{op}` | {what} | {why} |" for op, what, why in STATIC_ONLY]
    head = ["## Dynamic shapes", "",
            "Every op and layer above works with dynamic dims (`-1` in `trtnn.Input`), its sizes computed in the "
            "engine from runtime shapes; `Tensor.shape` holds -1 for such dims, and `F.sym_size(x, d)` / "
            "`F.sym_shape(x)` give their runtime values for shape arithmetic (reshape, pad, interpolate and arange "
            "take them). What must stay static (refused when the network is defined, with an error naming the op, the "
            "tensor and the dim; dims that weights cover are TensorRT's to check):", "",
            "| op | static | why |", "|---|---|---|"]
    return "\n".join(head + rows)


def _modules() -> List[str]:
    nn = torch.nn
    return sorted(n for n in dir(nn) if not n.startswith("_") and isinstance(getattr(nn, n), type)
                  and issubclass(getattr(nn, n), nn.Module))


def _functions() -> List[str]:
    F = torch.nn.functional
    return sorted(n for n in dir(F) if not n.startswith("_") and callable(getattr(F, n))
                  and not isinstance(getattr(F, n), type) and getattr(getattr(F, n), "__module__", "") not in NOT_OPS)


def _table(title: str, names: List[str], ns: object, prefix: str) -> Tuple[str, int]:
    rows, have = [], 0
    for n in names:
        ok = hasattr(ns, n)
        have += ok
        rows.append(f"| `{n}` | {'yes' if ok else 'no'} | {f'`{prefix}.{n}`' if ok else ''} | {NOTES.get(n, '')} |")
    head = [f"## {title}: {have} of {len(names)}", "", "| torch | supported | trtnn | notes |", "|---|---|---|---|"]
    return "\n".join(head + rows), have


def render() -> str:
    """The Markdown text of docs/ops.md for the installed torch."""
    mods, _ = _table("torch.nn modules", _modules(), trtnn.nn, "trtnn.nn")
    funcs, _ = _table("torch.nn.functional", _functions(), trtnn.functional, "trtnn.functional")
    intro = (f"# Operator coverage\n\nGenerated by `python tools/op_table.py` from torch {torch.__version__.split('+')[0]}"
             f" (do not edit). Names are torch's; trtnn's layers take the same arguments and state_dict keys.\n")
    return "\n\n".join([intro, mods, funcs, _dynamic_section()]) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="only compare with docs/ops.md")
    p.add_argument("-o", "--output", default=DOCS, help="where to write (default: docs/ops.md)")
    args = p.parse_args()
    text = render()
    if args.check:
        current = open(args.output).read() if os.path.exists(args.output) else ""
        if current != text:
            print(f"{args.output} is out of date: run python tools/op_table.py", file=sys.stderr)
            return 1
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    atomic_write_bytes(check_output_path(args.output, what="op table"), text.encode())
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
