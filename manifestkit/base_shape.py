"""The shape a workload manifest must have before manifestkit builds on it (base:, inject), as located errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from manifestkit.diagnostics import Diagnostic, type_name
from manifestkit.kinds import CONTAINER_LISTS, template_path
from manifestkit.yamlio import Document

# A shape is "map", "list", "str", "scalar" (a string or a number), a dict (a mapping whose listed keys have these
# shapes; a key
# ending in "!" is required) or a one-item tuple (a list whose items have that shape).
Shape = Any

_NAMED: Shape = {"name!": "str"}
_PORT: Shape = {"containerPort!": "scalar", "name": "str", "protocol": "str"}
_CONTAINER: Shape = {"name!": "str", "ports": (_PORT,), "env": (_NAMED,), "envFrom": ({},), "volumeMounts": (_NAMED,),
                     "command": ("str",), "args": ("str",), "securityContext": {}, "resources": {}}
_TEMPLATE: Shape = {
    "metadata": {"labels": "map", "annotations": "map"},
    "spec": {**{key: (_CONTAINER,) for key in CONTAINER_LISTS}, "volumes": (_NAMED,), "securityContext": {}},
}
_WORDS = {"map": "a mapping", "list": "a list", "str": "a string", "scalar": "a number"}


def base_shape_problems(doc: Document) -> list[Diagnostic]:
    """Where the workload in ``doc`` is not shaped like a Kubernetes workload (containers a list of
    mappings, labels a mapping, ...); empty when it is."""
    data = doc.data
    path = template_path(data.get("kind")) if isinstance(data, Mapping) else None
    if path is None:
        return []
    node: Any = data
    for depth, key in enumerate(path):
        if not isinstance(node, Mapping):
            return [_wrong(doc, path[:depth], node, "map")]
        node = node.get(key)
        if node is None:
            return []
    return _check(doc, tuple(path), node, _TEMPLATE)


def _check(doc: Document, path: tuple[str | int, ...], node: Any, shape: Shape) -> list[Diagnostic]:
    if isinstance(shape, str):
        ok = {"map": isinstance(node, Mapping), "str": isinstance(node, str),
              "list": isinstance(node, list),
              "scalar": isinstance(node, (int, str))}[shape]   # a wrong scalar is the schema check's to report
        return [] if ok else [_wrong(doc, path, node, shape)]
    if isinstance(shape, tuple):
        if not isinstance(node, list):
            return [_wrong(doc, path, node, "list")]
        return [p for i, item in enumerate(node) for p in _check(doc, (*path, i), item, shape[0])]
    if not isinstance(node, Mapping):
        return [_wrong(doc, path, node, "map")]
    problems = []
    for spelled, inner in shape.items():
        key = spelled.rstrip("!")
        if key in node:
            problems.extend(_check(doc, (*path, key), node[key], inner))
        elif spelled.endswith("!"):
            problems.append(doc.diagnostic(path, f"found no '{key}'; expected one",
                                           hint=f"add '{key}:' here"))
    return problems


def _wrong(doc: Document, path: Sequence[str | int], node: Any, shape: str) -> Diagnostic:
    return doc.diagnostic(path, f"found {type_name(node)}; expected {_WORDS[shape]}",
                          hint="fix the manifest so that a Kubernetes API server would accept it")

