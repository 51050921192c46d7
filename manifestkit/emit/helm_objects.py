"""One object of a Helm chart across versions: its template text with holes, and the values
each version gives them (the config checksum computed inside the chart)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from manifestkit import checksums
from manifestkit.emit.helm_values import (
    MISSING,
    Hole,
    container_paths,
    differing,
    get_path,
    hole_values,
    named_paths,
    quote,
    set_path,
    template_text,
    values_expr,
)
from manifestkit.kinds import is_cluster_scoped, template_path
from manifestkit.model import Resource

NEUTRAL = "\0named"   # stands in for a named hole while looking for differences
RELEASE_NAMESPACE = "__mk_release_namespace__"   # becomes {{ .Release.Namespace }} in the template text

Index = Mapping[tuple[str, str, str], Resource]   # one render's objects by (kind, namespace, name)


def index_of(render: Sequence[Resource]) -> dict[tuple[str, str, str], Resource]:
    """One render's objects by ``(kind, namespace, name)``, built once per render so each
    workload's config lookups cost its own references, not the whole render (issue 16)."""
    return {(r.kind, r.namespace, r.name): r for r in render}


def object_template(chart: str, obj_key: tuple[str, str], versions: Sequence[Any],
                    renders: Sequence[Index], key: bytes | None) -> tuple[str, list[dict[str, Any]]]:
    """The template text of one object and, per version, the values it needs (``renders``: each
    version's whole render, indexed by :func:`index_of`)."""
    kind, name = obj_key
    objs = [v.obj if isinstance(v, Resource) else MISSING for v in versions]
    present = [o for o in objs if o is not MISSING]
    check = _checksum_refs(present, renders, objs)
    stripped = [_without_checksum(o) if check is not None else o for o in present]
    holes = _named_holes(stripped, check, chart, obj_key)
    neutral = [_neutralize(o, holes) for o in stripped]
    for path in differing(neutral):
        where = ("overrides", f"{kind}/{name}", *readable(path, neutral[0]))
        holes.append(Hole(path, values_expr(where), where))
    skeleton = _release_namespace(stripped[0], present)
    versioned = [_without_checksum(o) if check is not None and o is not MISSING else o for o in objs]
    found = hole_values(versioned, holes)
    text = template_text(skeleton, holes).replace(f"namespace: {RELEASE_NAMESPACE}\n",
                                                  "namespace: {{ .Release.Namespace }}\n", 1)
    if len(present) < len(objs):
        flag = f"{kind}/{name}"
        text = f"{{{{- if dig {quote(flag)} false (.Values.enabled | default dict) }}}}\n{text}{{{{- end }}}}\n"
        found = [set_path(v, ("enabled", flag), o is not MISSING) for v, o in zip(found, objs, strict=True)]
    if check is not None:
        found = [merge(v, _external_entries(check, render, o, key)) if o is not MISSING else v
                 for v, render, o in zip(found, renders, objs, strict=True)]
    return text, found


def _release_namespace(skeleton: Mapping[str, Any], present: Sequence[Any]) -> Mapping[str, Any]:
    """A namespaced object the project pins to no namespace goes where `helm install -n` says."""
    if is_cluster_scoped(skeleton.get("kind")) or any((o.get("metadata") or {}).get("namespace") for o in present):
        return skeleton
    return {**skeleton, "metadata": {**(skeleton.get("metadata") or {}), "namespace": RELEASE_NAMESPACE}}


def readable(path: tuple[str, ...], obj: Any) -> tuple[str, ...]:
    """``path`` with list indexes replaced by the item's name (``containers.0`` → ``containers.web``)."""
    out: list[str] = []
    for part in path:
        if isinstance(obj, list):
            obj = obj[int(part)]
            out.append(str(obj["name"]) if isinstance(obj, Mapping) and "name" in obj else part)
        else:
            obj = obj.get(part, MISSING) if isinstance(obj, Mapping) else MISSING
            out.append(part)
    return tuple(out)


def _named_holes(objs: Sequence[Any], check: list[tuple[str, str]] | None, chart: str,
                 obj_key: tuple[str, str]) -> list[Hole]:
    paths = {**named_paths(objs[0]), **container_paths(objs)}
    holes = [Hole(p, values_expr(v), v) for p, v in paths.items()
             if all(isinstance(get_path(o, p[:-1]), (Mapping, list)) for o in objs)]
    tpl = template_path(obj_key[0])
    if tpl:
        path = (*tpl, "metadata", "annotations")
        expr = values_expr(("podAnnotations",))
        if check is not None:
            entries = " ".join(f"{quote(f'{k}/{n}')} {_entry_expr(k, n)}" for k, n in check)
            expr = (f"(merge (dict {quote(checksums.ANNOTATION)} (include {quote(chart + '.configChecksum')} "
                    f"(dict {entries}))) ({expr} | default dict))")
        holes.append(Hole(path, expr, ("podAnnotations",)))
    return holes


def _entry_expr(kind: str, name: str) -> str:
    if kind == "ConfigMap":
        return f"({values_expr(('configMaps', name))} | default dict)"
    return values_expr(("configChecksums", f"{kind}/{name}"))


def _checksum_refs(present: Sequence[Any], renders: Sequence[Index],
                   objs: Sequence[Any]) -> list[tuple[str, str]] | None:
    """The configs the chart hashes, when every version carries the checksum over the same ones."""
    if not all(_annotations(o).get(checksums.ANNOTATION) for o in present):
        return None
    found = {tuple(_used(o, render)) for o, render in zip(objs, renders, strict=True) if o is not MISSING}
    return list(found.pop()) if len(found) == 1 else None


def _used(obj: Mapping[str, Any], render: Index) -> list[tuple[str, str]]:
    namespace = obj.get("metadata", {}).get("namespace") or ""
    return [(k, n) for k, n in checksums.referenced(obj) if (k, namespace, n) in render]


def _external_entries(check: Sequence[tuple[str, str]], render: Index, obj: Mapping[str, Any],
                      key: bytes | None) -> dict[str, Any]:
    """Values for what a chart cannot hash from its own values: Secret tokens."""
    namespace = obj.get("metadata", {}).get("namespace") or ""
    return (
        {
            "configChecksums": {
                f"{k}/{n}": checksums.secret_token(render[(k, namespace, n)], key) for k, n in check if k != "ConfigMap"
            }
        }
        if any(k != "ConfigMap" for k, _ in check)
        else {}
    )


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    tpl = template_path(obj.get("kind"))
    found = get_path(obj, (*tpl, "metadata", "annotations")) if tpl else MISSING
    return found if isinstance(found, Mapping) else {}


def _without_checksum(obj: Mapping[str, Any]) -> Any:
    tpl = template_path(obj["kind"]) or ()
    annotations = {k: v for k, v in _annotations(obj).items() if k != checksums.ANNOTATION}
    meta = {k: v for k, v in get_path(obj, (*tpl, "metadata")).items() if k != "annotations"}
    if annotations:
        meta["annotations"] = annotations
    return set_path(obj, (*tpl, "metadata"), meta)


def _neutralize(obj: Any, holes: Sequence[Hole]) -> Any:
    for hole in holes:
        if isinstance(get_path(obj, hole.path[:-1]), (Mapping, list)):
            obj = set_path(obj, hole.path, NEUTRAL)
    return obj


def merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = merge(out[key], value) if isinstance(out.get(key), Mapping) and isinstance(value, Mapping) else value
    return out
