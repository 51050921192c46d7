"""Helm charts from rendered objects: which fields become values ("holes"), and the
Go-template text of one object with its holes.

An object is known in several versions (the base render and every environment's). A hole
is a map key whose value comes from ``.Values``: the fields operators change (replicas,
image, resources, env, config data, annotations, namespace) are always holes with
readable names; any other field that differs between the versions becomes a hole under
``overrides.<Kind/name>``. What is not a hole is the same in every version, so the
template text — the object dumped once with placeholders — renders each version exactly.

Each hole is one guarded line, ``key: {{ toJson $h }}`` (JSON is YAML, maps and lists
included), left out when its value is null or absent. Helm's ``toYaml`` would write maps as
block YAML, at ten times the cost of ``toJson`` per value in real Helm (it converts through
JSON twice), and a chart's templates run on every ``helm template``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from manifestkit.kinds import CONTAINER_LISTS, is_replicated, pod_spec_path, template_path
from manifestkit.yaml_dump import dump, k8s_order

Path = tuple[str, ...]
MISSING: Any = object()
CONTAINER_FIELDS = ("image", "resources", "env")


class Hole(NamedTuple):
    """``path`` in the object is rendered from the Go-template expression ``expr``;
    ``value`` is where its value sits in .Values (empty for a computed hole)."""

    path: Path
    expr: str
    value: Path = ()


# ------------------------------------------------------------------ expressions

def quote(text: str) -> str:
    """A Go template string literal (Go accepts JSON's escapes)."""
    return json.dumps(text, ensure_ascii=False)


def values_expr(path: Path) -> str:
    """The Go-template expression for ``.Values`` at ``path``; nil when absent."""
    first = f"(index .Values {quote(path[0])})"
    if len(path) == 1:
        return first
    keys = " ".join(quote(p) for p in path[1:])
    return f"(dig {keys} nil ({first} | default dict))"


# ------------------------------------------------------------------ finding holes

def get_in(obj: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(obj, Mapping) or key not in obj:
            return MISSING
        obj = obj[key]
    return obj


def named_paths(obj: Mapping[str, Any]) -> dict[Path, Path]:
    """Object path → values path, for the fields operators change, where the object has them."""
    kind = str(obj.get("kind", ""))
    out: dict[Path, Path] = {}
    if isinstance(get_in(obj, ("metadata", "namespace")), str):
        out[("metadata", "namespace")] = ("namespace",)
    if kind == "ConfigMap":
        name = str(obj["metadata"]["name"])
        out.update({(key,): ("configMaps", name, key) for key in ("data", "binaryData")})
    if template_path(kind):
        out[("metadata", "annotations")] = ("annotations",)
        if is_replicated(kind):
            out[("spec", "replicas")] = ("replicas",)
    return out


def container_paths(versions: Sequence[Mapping[str, Any]]) -> dict[Path, Path]:
    """Holes for each container's image, resources and env, when every version has the
    same containers in the same order (otherwise the list is one generic hole)."""
    kind = str(versions[0].get("kind", ""))
    spec_path = pod_spec_path(kind)
    if not template_path(kind) or spec_path is None:
        return {}
    out: dict[Path, Path] = {}
    for key in CONTAINER_LISTS:
        lists = [get_in(v, (*spec_path, key)) for v in versions]
        names = [[c.get("name") for c in items] if isinstance(items, list) else None for items in lists]
        if any(n != names[0] for n in names) or not names[0]:
            continue
        for index, name in enumerate(names[0]):
            for field in CONTAINER_FIELDS:
                out[(*spec_path, key, str(index), field)] = (key, str(name), field)
    return out


def differing(versions: Sequence[Any], path: Path = ()) -> list[Path]:
    """The smallest map keys under which ``versions`` differ (MISSING where absent)."""
    first = versions[0]
    if all(_same(v, first) for v in versions):
        return []
    if all(isinstance(v, Mapping) for v in versions):
        keys = sorted({k for v in versions for k in v})
        return [p for k in keys for p in differing([v.get(k, MISSING) for v in versions], (*path, k))]
    if _same_named_items(versions):
        return [p for i in range(len(first)) for p in differing([v[i] for v in versions], (*path, str(i)))]
    return [path]


def _same_named_items(versions: Sequence[Any]) -> bool:
    """Lists of the same named maps in the same order (containers, volumes, ports): compared
    item by item, so one changed field of one container is one hole, and ``name`` stays put."""
    if not all(isinstance(v, list) and len(v) == len(versions[0]) for v in versions):
        return False
    names = [[item.get("name") if isinstance(item, Mapping) else None for item in v] for v in versions]
    return all(n == names[0] for n in names) and all(name is not None for name in names[0])


def _same(a: Any, b: Any) -> bool:
    return a is b or (a is not MISSING and b is not MISSING and a == b)


# ------------------------------------------------------------------ placing holes

def get_path(obj: Any, path: Path, missing: Any = MISSING) -> Any:
    """Like :func:`get_in`, with list indexes as digit strings; ``missing`` where the path is not there."""
    for key in path:
        kind = type(obj)   # exact types first: an ABC isinstance per step was a tenth of a Helm render
        if kind is list or (kind is not dict and isinstance(obj, list)):
            if not (key.isdigit() and int(key) < len(obj)):
                return missing
            obj = obj[int(key)]
        elif (kind is dict or isinstance(obj, Mapping)) and key in obj:
            obj = obj[key]
        else:
            return missing
    return obj


def set_path(obj: Any, path: Path, value: Any, last: bool = False) -> Any:
    """A copy of ``obj`` with ``value`` at ``path`` (maps and lists copied along the path);
    ``last`` moves the key to the end of its map (a template hole never opens a list item)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, list):
        out = list(obj)
        out[int(head)] = set_path(out[int(head)], rest, value, last)
        return out
    inner = set_path(obj.get(head, {}), rest, value, last)
    if last and not rest:
        return {**{k: v for k, v in obj.items() if k != head}, head: inner}
    return {**obj, head: inner}


def hole_values(versions: Sequence[Any], holes: Sequence[Hole]) -> list[dict[str, Any]]:
    """For each version, the values its holes take (absent where the version lacks them)."""
    out = []
    for version in versions:
        values: dict[str, Any] = {}
        for hole in holes:
            if not hole.value:
                continue
            value = get_path(version, hole.path) if version is not MISSING else MISSING
            if value is not MISSING:
                values = set_path(values, hole.value, value)
        out.append(values)
    return out


# ------------------------------------------------------------------ template text

def placeholder(index: int) -> str:
    return f"__mk_hole_{index}__"


def template_text(skeleton: Mapping[str, Any], holes: Sequence[Hole]) -> str:
    """The object as Helm template text: dumped once, each hole's line replaced by Go template."""
    obj: Any = dict(skeleton)
    for index, hole in enumerate(holes):
        obj = set_path(obj, hole.path, placeholder(index), last=True)
    lines = []
    for line in dump(k8s_order(obj)).splitlines():
        lines.extend(_hole_lines(line, holes))
    return "\n".join(lines) + "\n"


def _hole_lines(line: str, holes: Sequence[Hole]) -> list[str]:
    stripped = line.rstrip()
    if not stripped.endswith("__") or "__mk_hole_" not in stripped:
        # Text of the object itself (a Kyverno `{{request.object...}}`): Helm must print it as is.
        return [line.replace("{{", '{{ "{{" }}')]
    head, _, tail = stripped.rpartition(": ")
    index = int(tail.removeprefix("__mk_hole_").removesuffix("__"))
    var = f"$h{index}"
    return [f"{{{{- {var} := {holes[index].expr} }}}}", f"{{{{- if ne {var} nil }}}}",
            f"{head}: {{{{ toJson {var} }}}}", "{{- end }}"]
