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
    first = -1   # a line whose mapping starts after a "- " item marker, at column `indent`
    if not path:
        return row + 1, indent + 1
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(key, int):
            found = _item(lines, row, indent, key)
            if found < 0:
                return None
            content = lines[found][indent + 2:]
            if not content or content[0] in " #[{-?&*!|>\"'":
                return None
            if last:
                return found + 1, indent + 3
            if ":" not in content:
                return None
            row, indent, first = found, indent + 2, found
            continue
        if not _PLAIN_KEY.match(key):
            return None
        found = _key(lines, row, indent, key, first)
        if found < 0:
            return None
        if last:
            return found + 1, indent + 1
        text = lines[found][indent:] if found == first else lines[found].lstrip(" ")
        rest = text[len(key) + 1:].strip()
        if depth == len(path) - 2 and isinstance(path[-1], str) and _FLAT_FLOW.match(rest):
            return _in_flow(lines[found], str(path[-1]), found)
        row = _content(lines, found + 1)
        if (rest and not rest.startswith("#")) or row < 0:
            return None   # the value is not a block collection on the following lines
        below = _indent(lines[row])
        if lines[row].lstrip(" ").startswith("- "):
            if below < indent or not isinstance(path[depth + 1], int):
                return None   # a block sequence, possibly at the key's own indentation
        elif below <= indent or lines[row].lstrip(" ").startswith(("? ", "[", "{")):
            return None
        indent, first = below, -1
    return None


def _key(lines: Sequence[str], row: int, indent: int, key: str, first: int) -> int:
    """The line of ``key`` in the block mapping at ``indent`` that starts on line ``row``, or -1.
    A line that does not start with ``indent`` spaces ends the mapping unless it is blank or a comment."""
    pad, entry, after = " " * indent, key + ":", indent + len(key) + 1
    for index in range(row, len(lines)):
        line = lines[index]
        if index == first or line.startswith(pad):   # at the mapping's indentation or deeper
            if line.startswith(entry, indent) and line[after:after + 1] in ("", " "):
                return index
        elif (stripped := line.lstrip(" ")) and not stripped.startswith("#"):
            return -1   # left the mapping without meeting the key
    return -1


def _item(lines: Sequence[str], row: int, indent: int, number: int) -> int:
    """The line of item ``number`` of the block sequence at ``indent`` that starts on line ``row``, or -1."""
    pad, count = " " * indent, -1
    for index in range(row, len(lines)):
        line = lines[index]
        if line.startswith(pad):
            start = line[indent:indent + 2]
            if start == "- ":
                count += 1
                if count == number:
                    return index
            elif start[:1] not in ("", " ", "#"):
                return -1   # an entry at the sequence's indentation that is not an item
        elif (stripped := line.lstrip(" ")) and not stripped.startswith("#"):
            return -1
    return -1
