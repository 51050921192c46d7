"""The render cache's JSON: each entry's body as orjson writes it, or (for what orjson refuses) the standard
library's after one space, read back by whichever wrote it; and which values JSON gives back exactly."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

_ORJSON = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dump_body(body: Any) -> bytes:
    """``body`` as JSON: orjson's, or (for what orjson refuses: an int beyond 64 bits, a str subclass...) a space and
    the standard library's, which refuses what it always did."""
    try:
        return orjson.dumps(body, option=_ORJSON)
    except TypeError:   # orjson.JSONEncodeError
        return b" " + json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def load_body(body: bytes | memoryview) -> Any:
    """What :func:`dump_body` wrote as ``body``; ValueError when it is not JSON."""
    return json.loads(bytes(body)) if body[:1] == b" " else orjson.loads(body)


def exact_json(value: Any) -> bool:
    """Whether ``value`` is made only of what JSON gives back unchanged: dicts with str keys, lists, str, int,
    finite float, bool and None, each of exactly that type (a ``SecretStr``, a tuple, a date is not)."""
    todo = [value]
    push = todo.append
    while todo:
        item = todo.pop()
        kind = type(item)
        if kind is dict:
            for k in item:
                if type(k) is not str:
                    return False
            values: Any = item.values()
        elif kind is list:
            values = item
        else:   # only ever the value itself: a container's scalars are looked at below, not pushed
            return kind in _SCALARS or (kind is float and math.isfinite(item))
        for v in values:
            kind = type(v)
            if kind is str:
                continue
            if kind is dict or kind is list:
                push(v)
            elif kind is float:
                if not math.isfinite(v):
                    return False
            elif kind is not int and kind is not bool and v is not None:
                return False
    return True


_SCALARS = frozenset({str, int, bool, type(None)})
