"""Tidy formatting of generated code (no formatter dependency): lines longer than the limit are wrapped inside
their outermost brackets, arguments packed greedily onto continuation lines indented four more spaces."""
from __future__ import annotations

from typing import List, Optional, Tuple

WIDTH = 120
_PAIRS = {"(": ")", "[": "]", "{": "}"}


def tidy(source: str, width: int = WIDTH) -> str:
    """`source` with every over-long line wrapped (strings and comments are never split)."""
    out: List[str] = []
    for line in source.split("\n"):
        out.extend(_wrap(line, width))
    return "\n".join(out)


def _wrap(line: str, width: int) -> List[str]:
    if len(line) <= width or line.lstrip().startswith(("#", '"')):
        return [line]
    span = _outer_brackets(line)
    if span is None:
        return [line]
    start, end = span
    indent = " " * (len(line) - len(line.lstrip()) + 4)
    items = _split_items(line[start + 1:end])
    if len(items) < 2 and len(indent) + len(line[start + 1:end]) > width:
        return [line]
    lines, current = [line[:start + 1]], indent
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if current.strip() and len(current) + 1 + len(piece) > width:
            lines.append(current.rstrip())
            current = indent
        current += ("" if not current.strip() else " ") + piece
    lines.append(current.rstrip() + line[end:])
    return [w for piece in lines for w in (_wrap(piece, width) if piece is not lines[0] else [piece])]


def _outer_brackets(line: str) -> Optional[Tuple[int, int]]:
    """(open, close) of the first bracket pair that spans the most of the line, outside strings."""
    depth, stack, best = 0, [], None
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote and line[i - 1] != "\\":
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in _PAIRS:
            stack.append(i)
            depth += 1
        elif ch in _PAIRS.values() and stack:
            start = stack.pop()
            depth -= 1
            if depth == 0 and (best is None or i - start > best[1] - best[0]):
                best = (start, i)
    return best if best is not None and best[1] - best[0] > 2 else None


def _split_items(text: str) -> List[str]:
    """Top-level comma-separated items of `text` (brackets and strings respected)."""
    items, depth, quote, cur = [], 0, None, ""
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote and text[i - 1] != "\\" else quote
        elif ch in "'\"":
            quote = ch
        elif ch in _PAIRS:
            depth += 1
        elif ch in _PAIRS.values():
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if cur.strip():
        items.append(cur.strip())
    return items
