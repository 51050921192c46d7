"""What `manifestkit explain` prints: a field's value and its writers, last first, one clickable ``file:line`` each;
every field under a path with its last writer; an app's objects with who made them; as text or as JSON for tools."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from manifestkit.explain_chain import FILE_KINDS, Entry, Field, ObjectInfo, Place
from manifestkit.explain_path import FieldPath, format_field, object_ref
from manifestkit.kinds import pod_template
from manifestkit.model import Resource

SHORT = 60      # characters of a value shown on a writer's line


def _value(value: Any, limit: int = 0) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if not limit or len(text) <= limit else text[:limit - 1] + "…"


def _at(place: Place | None) -> str:
    if place is None:
        return "manifestkit"
    return f"{place.file}:{place.line}" if place.line else place.file


def who(entry: Entry) -> str:
    """The writer of an entry in words, e.g. ``overlay prod``, ``pattern sidecar/envoy``."""
    writer = entry.writer
    if writer.kind == "secrets":
        return f"secrets step, output mode {writer.name}" + (f" ({writer.detail})" if writer.detail else "")
    if writer.kind == "checksum":
        return f"config checksum (mode {writer.name}" + (f", {writer.detail})" if writer.detail else ")")
    if writer.kind == "default":
        return f"default (step {entry.step})" if entry.step else "manifestkit default"
    labels = {"base": "base manifest of app", "objects": "object file of", "builtin-overlay": "built-in overlay",
              "patch": "patch of overlay"}
    return f"{labels.get(writer.kind, writer.kind)} {writer.name}"


def writer_text(entry: Entry) -> str:
    """``file:line: who: path`` of a file's entry, ``file:line: who (path)`` of a step acting for the user (where it
    was asked for), ``manifestkit: ...`` for manifestkit's own."""
    path = entry.place.path if entry.place is not None else ""
    where = "" if not path else f": {path}" if entry.writer.kind in FILE_KINDS else f" ({path})"
    return f"{_at(entry.place)}: {who(entry)}{where}"


def _line(entry: Entry, final: Any, limit: int = SHORT) -> str:
    """One writer: where, who, what it wrote there, and the value it left."""
    mark = "" if entry.value == final else " (overridden)"
    text = f"{writer_text(entry)} = {_value(entry.value, limit)}{mark}"
    if entry.via is not None:
        text += f"\n      from {entry.via.path} at {_at(entry.via)}"
    return text


def _header(resource: Resource, path: FieldPath, env: str) -> str:
    field = f" {format_field(path)}" if path else ""
    return f"{object_ref(resource)}{field} (env {env})\n"


def _shown_value(value: Any) -> str:
    if isinstance(value, str) and "\n" in value:
        return "|\n" + "".join(f"  {line}\n" for line in value.splitlines())
    return _value(value) + "\n"


# ---------------------------------------------------------------- text


def field_text(app: str, env: str, resource: Resource, field: Field) -> str:
    lines = [f"  {_line(e, field.value)}" for e in reversed(field.chain)]
    return (_header(resource, field.path, env) + "value: " + _shown_value(field.value)
            + "\nset by, last writer first:\n" + "\n".join(lines) + "\n")


def fields_text(app: str, env: str, resource: Resource, under: FieldPath, fields: Sequence[Field]) -> str:
    rows = [(format_field(f.path[len(under):]) or "(value)", f) for f in fields]
    width = max((len(name) for name, _ in rows), default=0)
    lines = [f"  {name:<{width}} = {_value(f.value, SHORT)}\n    {_brief(f)}" for name, f in rows]
    return (_header(resource, under, env) + "\n".join(lines)
            + "\n\nEach field with its last writer; name one field for all of its writers.\n")


def _brief(field: Field) -> str:
    last = field.writer
    return writer_text(last) if last is not None else "(no writer found)"


def objects_text(app: str, env: str, infos: Sequence[ObjectInfo]) -> str:
    out = [f"app {app}, env {env}: {len(infos)} object(s)\n"]
    for info in infos:
        counts = ", ".join(f"{who(Entry(writer=w, step='', value=None))} {n}" for w, n in info.counts)
        out.append(f"{object_ref(info.resource)}\n  made by {writer_text(info.created)}\n"
                   f"  fields last set by: {counts}\n")
    example = next((i.resource for i in infos if pod_template(i.resource.obj) is not None),
                   infos[0].resource if infos else None)
    if example is not None:
        out.append(f"Explain a field: manifestkit explain {app} {example.kind}/{example.name}.metadata.name\n")
    return "\n".join(out)


# ---------------------------------------------------------------- JSON


def _place(place: Place | None) -> dict[str, Any] | None:
    return None if place is None else {"file": place.file, "line": place.line, "path": place.path}


def entry_json(entry: Entry) -> dict[str, Any]:
    writer = entry.writer
    return {"writer": writer.kind, "name": writer.name, "step": entry.step, "value": entry.value,
            "at": _place(entry.place), "via": _place(entry.via), "detail": writer.detail}


def _object(resource: Resource) -> dict[str, Any]:
    return {"kind": resource.kind, "namespace": resource.namespace or None, "name": resource.name}


def _field_json(field: Field, under: FieldPath = ()) -> dict[str, Any]:
    return {"path": format_field(field.path[len(under):]), "value": field.value,
            "chain": [entry_json(e) for e in reversed(field.chain)]}


def field_json(app: str, env: str, resource: Resource, field: Field) -> str:
    data = {"app": app, "env": env, "object": _object(resource), **_field_json(field)}
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def fields_json(app: str, env: str, resource: Resource, under: FieldPath, fields: Sequence[Field]) -> str:
    data = {"app": app, "env": env, "object": _object(resource), "path": format_field(under),
            "fields": [_field_json(f, under) for f in fields]}
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def objects_json(app: str, env: str, infos: Sequence[ObjectInfo]) -> str:
    data = {"app": app, "env": env, "objects": [
        {**_object(info.resource), "made_by": entry_json(info.created),
         "fields_last_set_by": [{"writer": w.kind, "name": w.name, "fields": n} for w, n in info.counts]}
        for info in infos]}
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"



class Reporter(NamedTuple):
    """One output format: a field, the fields under a path, an app's objects."""

    field: Callable[[str, str, Resource, Field], str]
    fields: Callable[[str, str, Resource, FieldPath, Sequence[Field]], str]
    objects: Callable[[str, str, Sequence[ObjectInfo]], str]


REPORTS: dict[str, Reporter] = {
    "text": Reporter(field_text, fields_text, objects_text),
    "json": Reporter(field_json, fields_json, objects_json),
}
