"""Line and column of a value in a file the fast loader read, found from the text when that is certain.

The careful loader records a mapping entry at its key and any other value where it starts.
For a file in plain block style that is a line scan: the root starts at the first content
line, and each key of a path is the line at its mapping's indentation that starts with
``key:`` (or, for the last key, an entry of a one-line flow mapping). Anything else (a flow collection, a quoted or
complex key, a sequence on the
path) answers None, and the caller re-reads the file with the careful loader.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Position = tuple[int, int]

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*\Z")
# A one-line flow mapping of plain keys and values: nothing nested, quoted or commented.
_FLAT_FLOW = re.compile(
    r"\{ *[A-Za-z0-9_][A-Za-z0-9_./-]*: [^{}\[\]\"'#:]*(?:, *[A-Za-z0-9_][A-Za-z0-9_./-]*: [^{}\[\]\"'#:,]*)*\}\Z"
)


def _content(lines: Sequence[str], start: int) -> int:
    """The index of the first line from ``start`` that holds more than spaces or a comment, or -1."""
    for index in range(start, len(lines)):
        stripped = lines[index].lstrip(" ")
        if stripped and not stripped.startswith("#"):
            return index
    return -1


def _in_flow(line: str, key: str, row: int) -> Position | None:
    """``key`` in a one-line flow mapping of plain scalars (``metadata: {name: web, namespace: x}``)."""
    if not _PLAIN_KEY.match(key):
        return None
    match = re.search(rf"[{{,] *({re.escape(key)}): ", line)
    return (row + 1, match.start(1) + 1) if match else None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def quick_position(lines: Sequence[str], path: Sequence[str | int]) -> Position | None:
    """Where the careful loader puts ``path`` (which must exist in the data), or None when unsure."""
    row = _content(lines, 0)
    if row < 0 or lines[row].lstrip(" ").startswith(("---", "%", "- ", "[", "{", "?")) or lines[row].strip() == "-":
        return None
    indent = _indent(lines[row])
    if not path:
        return row + 1, indent + 1
    for depth, key in enumerate(path):
        if not isinstance(key, str) or not _PLAIN_KEY.match(key):
            return None
        found = -1
        for index in range(row, len(lines)):
            line = lines[index]
            stripped = line.lstrip(" ")
            if not stripped or stripped.startswith("#"):
                continue
            here = len(line) - len(stripped)
            if here < indent:
                return None   # left the mapping without meeting the key
            if here == indent and stripped.startswith(key + ":") and stripped[len(key) + 1:len(key) + 2] in ("", " "):
                found = index
                break
        if found < 0:
            return None
        if depth == len(path) - 1:
            return found + 1, indent + 1
        rest = lines[found].lstrip(" ")[len(key) + 1:].strip()
        if depth == len(path) - 2 and _FLAT_FLOW.match(rest):
            return _in_flow(lines[found], str(path[-1]), found)
        row = _content(lines, found + 1)
        if (rest and not rest.startswith("#")) or row < 0 or _indent(lines[row]) <= indent:
            return None   # the value is not a block mapping on the following lines
        if lines[row].lstrip(" ").startswith(("- ", "? ", "[", "{")):
            return None
        indent = _indent(lines[row])
    return None
