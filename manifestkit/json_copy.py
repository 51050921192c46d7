"""Deep JSON-typed copies of plain data, and JSON equality (the Kustomize emitter copies and compares every object).

JSON has no str subclasses, tuples or non-str keys, and tells ``1``, ``True`` and ``1.0`` apart where Python's
``==`` does not. Data made of dicts with str keys, lists, str, int, bool and None (every object a render builds)
is copied directly, about twice as fast as a JSON round trip; anything else goes through JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_EXACT = frozenset({str, int, bool, type(None)})


class _NotPlain(Exception):
    """A value JSON would change (a str subclass, a tuple, a float, a non-str key, another type)."""


def json_copy(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep, JSON-typed copy of ``obj`` (str subclasses become str) that can be changed freely."""
    try:
        return _copied(obj) if type(obj) is dict else dict(json.loads(json.dumps(obj)))
    except _NotPlain:
        return dict(json.loads(json.dumps(obj)))


def _copied(node: Any) -> Any:
    kind = type(node)
    if kind is dict:
        out = {}
        for key, value in node.items():
            if type(key) is not str:
                raise _NotPlain
            out[key] = value if type(value) in _EXACT else _copied(value)
        return out
    if kind is list:
        return [item if type(item) in _EXACT else _copied(item) for item in node]
    raise _NotPlain


def same_json(a: Any, b: Any) -> bool:
    """Whether two JSON-typed values are the same JSON: equal, and of one type everywhere (no RFC 6902
    operation turns one into the other)."""
    return bool(a == b) and _same_types(a, b)


def _same_types(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return all(_same_types(value, b[key]) for key, value in a.items())
    if type(a) is list:
        return all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return True
