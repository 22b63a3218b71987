"""Print a checkpoint's or a model's state_dict keys and shapes, one `name (shape)` per line (the keys/*.keys format).

    python tools/dump_keys.py yolov8n.pt                 # what a checkpoint holds (read safely)
    python tools/dump_keys.py --model yolov8n --nc 3     # what a trtnn model expects
    python tools/dump_keys.py a.pt --diff b.pt           # keys/shapes in one but not the other

Handy while hand-writing a network: diff what your trtnn Module expects against the original checkpoint.
"""
import argparse
import sys
from typing import Dict, List, Tuple

import trtnn.models
from trtnn.io.checkpoint import load_checkpoint


def entries(source: str, is_model: bool, nc: int = None) -> List[Tuple[str, Tuple[int, ...]]]:
    if is_model:
        kwargs = {} if nc is None else trtnn.models.spec(source).with_classes({}, nc)
        state: Dict = trtnn.models.get(source)(**kwargs).state_dict()
    else:
        state = load_checkpoint(source)
    return [(k, tuple(v.shape)) for k, v in state.items()]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", nargs="?", help="checkpoint file")
    p.add_argument("--model", help="a registered trtnn model instead of a file (yolov8n, unet, ...)")
    p.add_argument("--nc", type=int, help="with --model: number of classes")
    p.add_argument("--diff", metavar="OTHER", help="checkpoint to compare with")
    args = p.parse_args()
    if not (args.source or args.model):
        p.error("give a checkpoint file or --model NAME")
    mine = entries(args.model or args.source, bool(args.model), args.nc)
    if not args.diff:
        print("\n".join(f"{k} {s}" for k, s in mine))
        return 0
    other = entries(args.diff, False)
    only_a, only_b = sorted(set(mine) - set(other)), sorted(set(other) - set(mine))
    for k, s in only_a:
        print(f"- {k} {s}")
    for k, s in only_b:
        print(f"+ {k} {s}")
    print(f"{len(mine)} vs {len(other)} entries; {len(only_a)} only in the first, {len(only_b)} only in the second")
    return 1 if only_a or only_b else 0


if __name__ == "__main__":
    sys.exit(main())
