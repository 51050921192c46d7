"""Helm values files and their schema: what an environment changes in values.yaml, and a
draft-07 values.schema.json every version satisfies.

The schema gives the type of each value down to a value's field (``replicas``,
``containers.<name>.image``, ``configMaps.<name>.data``) and, below, only what every version
shares by rule: a ConfigMap's data are strings, ``enabled`` flags booleans, checksum tokens
strings; ``overrides`` (whatever differs between environments) is a map. Helm validates the
values against it on every ``helm template``, at a cost per schema node, so the schema
names what an operator sets, not every leaf of every version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SCHEMA = "http://json-schema.org/draft-07/schema#"
DEPTH = 3    # values described with their keys down to here: configMaps.<name>.data
ANY = "*"
# Values whose keys are open (any name) and whose entries have one type, by rule.
OPEN_MAPS: dict[tuple[str, ...], str | None] = {
    ("configMaps", ANY, "data"): "string",          # ConfigMap data values are strings
    ("configMaps", ANY, "binaryData"): "string",    # (base64)
    ("enabled",): "boolean",
    ("configChecksums",): "string",
    ("overrides",): None,                            # any field of any object: only "a map"
}


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
    return {"$schema": SCHEMA, **_schema(list(values), ())}


def _schema(samples: list[Any], path: tuple[str, ...]) -> dict[str, Any]:
    samples = [s for s in samples if s is not None]
    types = sorted({_type(s) for s in samples})
    out: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    maps = [s for s in samples if isinstance(s, Mapping)]
    shape = next((shape for shape in OPEN_MAPS if _matches(shape, path)), None)
    if maps and shape is not None:
        entries = OPEN_MAPS[shape]
        if entries is not None:
            out["additionalProperties"] = {"type": entries}
    elif maps and len(path) < DEPTH:
        keys = list(dict.fromkeys(k for m in maps for k in m))
        out["properties"] = {k: _schema([m[k] for m in maps if k in m], (*path, k)) for k in keys}
    return out


def _matches(shape: tuple[str, ...], path: tuple[str, ...]) -> bool:
    return len(shape) == len(path) and all(s in (ANY, p) for s, p in zip(shape, path, strict=True))


def _type(value: Any) -> str:
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
                       (Mapping, "object"), (list, "array")):
        if isinstance(value, kind):
            return name
    return "null"
