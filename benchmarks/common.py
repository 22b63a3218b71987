"""Small helpers shared by the benchmark scripts: table output, written to benchmarks/results."""
from __future__ import annotations

import os
import platform
from typing import List, Sequence

RESULTS = os.path.join(os.path.dirname(__file__), "results")


def table(headers: Sequence[str], rows: List[Sequence[object]]) -> str:
    cells = [[str(c) for c in r] for r in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells[1:])])


def report(name: str, title: str, headers: Sequence[str], rows: List[Sequence[object]], notes: str = "") -> str:
    """Print the table and write it (with the machine it ran on) to benchmarks/results/<name>.md."""
    text = f"# {title}\n\n{table(headers, rows)}\n"
    if notes:
        text += f"\n{notes}\n"
    text += f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n"
    print(text)
    os.makedirs(RESULTS, exist_ok=True)
    from trtnn.io.files import atomic_write_bytes

    atomic_write_bytes(os.path.join(RESULTS, f"{name}.md"), text.encode())
    return text


SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "trtnn")


def heldout_shapes() -> str:
    """300 more shapes val images from another seed (1), none of them in the training or validation split above:
    data that no default was chosen on. Generated once into ~/.cache/trtnn/shapes-heldout by ../shared/data/shapes.py
    (its `write`, with no training images)."""
    import runpy

    root = os.path.join(CACHE, "shapes-heldout")
    if not os.path.exists(os.path.join(root, "shapes-detect.yaml")):
        script = os.path.join(SHARED, "data", "shapes.py")
        if not os.path.exists(script):
            raise SystemExit(f"needs {script} (the project's shared data)")
        runpy.run_path(script)["write"](root, 0, 300, 320, 1)
    return root


def shapes_dataset() -> str:
    """The procedural 'shapes' data set the real checkpoints in ../shared/data were trained on (1500 train, 300 val
    images, seed 0), generated once into ~/.cache/trtnn/shapes by ../shared/data/shapes.py (needs OpenCV)."""
    import subprocess
    import sys

    root = os.path.join(CACHE, "shapes")
    if not os.path.exists(os.path.join(root, "shapes-detect.yaml")):
        script = os.path.join(SHARED, "data", "shapes.py")
        if not os.path.exists(script):
            raise SystemExit(f"needs {script} (the project's shared data)")
        subprocess.run([sys.executable, script, root, "1500", "300", "320"], check=True)
    return root
