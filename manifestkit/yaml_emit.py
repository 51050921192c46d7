"""A specialised emitter for Kubernetes-shaped data, byte for byte what :func:`yaml_dump.dump_pyyaml` writes.

Kubernetes objects are dicts of str keys, lists, and str/int/bool/None scalars, written in
block style; PyYAML spends most of a dump in its Python representer and serializer. This
module writes the block structure itself and asks PyYAML only how to write each distinct
scalar (once, remembered), so the quoting rules stay PyYAML's. It declines (returns None)
whatever it does not know to write identically: other types, shared or deep containers,
long or multi-line keys, multi-line quoted strings; the caller then dumps with PyYAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Plain scalars that need no analysis: PyYAML writes them as they are when they read as str.
_SAFE_PLAIN = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./-]*(?::[A-Za-z0-9_./-]+)*\Z")
_BREAKS = re.compile("[\n\r\x85\u2028\u2029]")
_MAX_DEPTH = 60
_MAX_KEY = 100
_MAX_SCALAR = 4096
_MAX_KNOWN = 200_000


class _Declined(Exception):
    """The data holds something this emitter does not write as PyYAML would."""


class Scalars:
    """How PyYAML writes each scalar as a mapping value: one line, or a literal block header and
    its lines (relative to the block's indentation). Learnt once per distinct scalar."""

    def __init__(self, dump_one: Callable[[Any], str], reads_as_str: Callable[[str], bool]) -> None:
        self._dump_one = dump_one          # {"k": value} → PyYAML's text
        self._reads_as_str = reads_as_str  # whether a plain scalar resolves as a string
        self._known: dict[tuple[type, Any], tuple[str, tuple[str, ...]]] = {}
        self._strings: dict[str, tuple[str, tuple[str, ...]]] = {}   # the same, for exact str (most scalars)
        self._keys: dict[str, str] = {}

    def value(self, value: Any) -> tuple[str, tuple[str, ...]]:
        if type(value) is str:
            return self._strings.get(value) or self._remember(self._strings, value, value)
        key = (float, repr(value)) if type(value) is float else (type(value), value)   # 0.0 == -0.0
        return self._known.get(key) or self._remember(self._known, key, value)

    def _remember(self, table: dict[Any, tuple[str, tuple[str, ...]]], key: Any,
                  value: Any) -> tuple[str, tuple[str, ...]]:
        """What ``value`` is written as, learnt once and kept in ``table`` (emptied when it grows too big)."""
        if len(table) > _MAX_KNOWN:
            table.clear()
        known = table[key] = self._learn(value)
        return known

    def key(self, key: str) -> str:
        known = self._keys.get(key) if type(key) is str else None
        if known is not None:
            return known
        if len(key) > _MAX_KEY or _BREAKS.search(key):
            raise _Declined   # PyYAML writes a long or multi-line key as a complex key (`? key`)
        text, block = self.value(key)
        if block:
            raise _Declined
        if type(key) is str:
            if len(self._keys) > _MAX_KNOWN:
                self._keys.clear()
            self._keys[key] = text
        return text

    def _learn(self, value: Any) -> tuple[str, tuple[str, ...]]:
        if isinstance(value, str):
            if len(value) > _MAX_SCALAR:
                raise _Declined
            if _SAFE_PLAIN.match(value) and self._reads_as_str(value):
                return str.__str__(value), ()
        text = self._dump_one({"k": value})
        if not text.startswith("k: ") or not text.endswith("\n"):
            raise _Declined
        first, *rest = text[3:-1].split("\n")
        if not rest:
            return first, ()
        if not first.startswith("|") or not all(line.startswith("  ") or line == "" for line in rest):
            raise _Declined   # a multi-line quoted scalar: its breaks depend on the column
        return first, tuple(line[2:] for line in rest)


_SCALARS = (str, int, bool, float, type(None))


def _scalar(scalars: Scalars, value: Any, indent: int, out: list[str]) -> None:
    """Append `` value`` (after a ``key:`` or ``-``) and its line break; a block's lines at ``indent``."""
    text, block = scalars.value(value)
    out.append(f" {text}\n")
    if block:
        pad = " " * indent
        out.extend(f"{pad}{line}\n" if line else "\n" for line in block)


def _mapping(scalars: Scalars, node: dict[Any, Any], indent: int, first: bool, seen: set[int], out: list[str]) -> None:
    """Block mapping at ``indent``; ``first``: its first key follows a ``- `` already written."""
    pad = " " * indent
    for key, value in node.items():
        if type(key) is not str:
            raise _Declined
        kind = type(value)
        if kind is str or kind is int or kind is bool or kind is float or value is None:   # inline: most values
            text, block = scalars.value(value)
            out.append(f"{'' if first else pad}{scalars.key(key)}: {text}\n")
            if block:
                inner = " " * (indent + 2)
                out.extend(f"{inner}{line}\n" if line else "\n" for line in block)
        else:
            out.append(f"{'' if first else pad}{scalars.key(key)}:")
            _node(scalars, value, indent, seen, out, in_mapping=True)
        first = False


def _sequence(scalars: Scalars, node: list[Any], indent: int, first: bool, seen: set[int], out: list[str]) -> None:
    pad = " " * indent
    for item in node:
        out.append(f"{'' if first else pad}-")
        first = False
        _node(scalars, item, indent, seen, out, in_mapping=False)


def _node(scalars: Scalars, value: Any, indent: int, seen: set[int], out: list[str], in_mapping: bool) -> None:
    """``value`` after ``key:`` (``in_mapping``) or ``-`` at ``indent``."""
    kind = type(value)
    if kind in _SCALARS:
        _scalar(scalars, value, indent + 2, out)
        return
    if kind is not dict and kind is not list:
        raise _Declined
    if not value:
        out.append(" {}\n" if kind is dict else " []\n")
        return
    if id(value) in seen or len(seen) > 100_000 or indent > 2 * _MAX_DEPTH:
        raise _Declined   # PyYAML writes a shared container as an anchor and aliases
    seen.add(id(value))
    if kind is dict:
        if in_mapping:
            out.append("\n")
            _mapping(scalars, value, indent + 2, False, seen, out)
        else:
            out.append(" ")
            _mapping(scalars, value, indent + 2, True, seen, out)
    elif in_mapping:   # PyYAML writes a mapping's sequences without indenting them
        out.append("\n")
        _sequence(scalars, value, indent, False, seen, out)
    else:
        out.append(" ")
        _sequence(scalars, value, indent + 2, True, seen, out)


def emit(obj: Any, scalars: Scalars) -> str | None:
    """One document as PyYAML would write it, or None to let PyYAML write it."""
    if type(obj) is not dict or not obj:
        return None
    out: list[str] = []
    try:
        _mapping(scalars, obj, 0, False, {id(obj)}, out)
    except _Declined:
        return None
    return "".join(out)
