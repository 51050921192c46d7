"""Helm values files and their schema: what an environment changes in values.yaml, and a
draft-07 values.schema.json every version satisfies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SCHEMA = "http://json-schema.org/draft-07/schema#"


def values_diff(base: Mapping[str, Any], env: Mapping[str, Any]) -> dict[str, Any]:
    """What ``env`` changes in ``base`` as Helm coalesces values: maps deeply, ``null`` deletes."""
    out: dict[str, Any] = {}
    for key in sorted(set(base) | set(env), key=list({**base, **env}).index):
        if key not in env:
            out[key] = None
        elif key not in base:
            out[key] = env[key]
        elif isinstance(base[key], Mapping) and isinstance(env[key], Mapping):
            inner = values_diff(base[key], env[key])
            if inner:
                out[key] = inner
        elif base[key] != env[key]:
            out[key] = env[key]
    return out


def schema_of(values: Sequence[Any]) -> dict[str, Any]:
    """A draft-07 schema every one of ``values`` (one per version) satisfies."""
    return {"$schema": SCHEMA, **_schema(list(values))}


def _schema(samples: list[Any]) -> dict[str, Any]:
    samples = [s for s in samples if s is not None]
    types = sorted({_type(s) for s in samples})
    out: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    maps = [s for s in samples if isinstance(s, Mapping)]
    if maps:
        keys = list(dict.fromkeys(k for m in maps for k in m))
        out["properties"] = {k: _schema([m[k] for m in maps if k in m]) for k in keys}
    return out


def _type(value: Any) -> str:
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
                       (Mapping, "object"), (list, "array")):
        if isinstance(value, kind):
            return name
    return "null"
