"""RFC 6902 JSON Patches between an object before and after patterns: what `inject
--emit patch` prints and what a mutating admission webhook would answer.

The diff is simple on purpose: maps recurse, a list that only grew gets one `add` per new
item at its index, any other changed value is replaced whole. The result applies with any
RFC 6902 implementation (the tests use the `jsonpatch` library).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Op = dict[str, Any]


def pointer(path: tuple[str | int, ...]) -> str:
    """A JSON Pointer (RFC 6901): `~` and `/` in keys are escaped."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def diff(before: Any, after: Any, path: tuple[str | int, ...] = ()) -> list[Op]:
    """Operations turning ``before`` into ``after``."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        return _diff_maps(before, after, path)
    if isinstance(before, list) and isinstance(after, list) and after[:len(before)] == before:
        return [{"op": "add", "path": pointer((*path, i)), "value": after[i]} for i in range(len(before), len(after))]
    if before == after and type(before) is type(after):
        return []
    return [{"op": "replace", "path": pointer(path), "value": after}]


def _diff_maps(before: Mapping[str, Any], after: Mapping[str, Any], path: tuple[str | int, ...]) -> list[Op]:
    ops: list[Op] = [{"op": "remove", "path": pointer((*path, key))} for key in before if key not in after]
    for key, value in after.items():
        if key in before:
            ops.extend(diff(before[key], value, (*path, key)))
        else:
            ops.append({"op": "add", "path": pointer((*path, key)), "value": value})
    return ops


def creation(obj: Mapping[str, Any]) -> list[Op]:
    """A patch that creates a new object (applied to an empty document)."""
    return [{"op": "add", "path": "", "value": dict(obj)}]
