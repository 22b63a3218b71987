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
    from trtnn.fileio import atomic_write_bytes

    atomic_write_bytes(os.path.join(RESULTS, f"{name}.md"), text.encode())
    return text
