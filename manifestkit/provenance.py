"""Provenance for `manifestkit explain`: user data whose scalars remember the file and YAML path they were read from.

:func:`traced_project` gives a Project whose App specs, overlays, base manifests and object
files hold :class:`TracedStr`, :class:`TracedInt` and :class:`TracedFloat` values (mapping
keys too). They are ``str``, ``int`` and ``float`` to every step, and copying keeps them
(``copy.copy`` and ``deepcopy`` return the value itself), so wherever the real pipeline puts a
value, its :class:`Origin` goes with it; a value a step computes is a plain one. Booleans and
``null`` cannot be subclassed: ``explain`` locates those from their traced neighbours.

Only ``explain`` builds traced data: a render never sees it, so its speed and output are untouched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Self

from manifestkit.model import App, Overlay, Project
from manifestkit.yamlio import Document

PathKey = tuple[str | int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """Where a value was written: a document and the YAML path inside it."""

    document: Document = field(compare=False, hash=False, repr=False)
    file: str
    number: int          # the document's place in its file
    path: PathKey

    @property
    def line(self) -> int:
        """The line of the value (or of its nearest written ancestor)."""
        return self.document.position(self.path)[0]


class _Itself:
    """Copies of a traced value are the value itself (copy.deepcopy keeps the origin)."""

    __slots__ = ()

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: object) -> Self:
        return self


class TracedStr(_Itself, str):
    """A string that remembers its origin."""

    __slots__ = ("origin",)
    origin: Origin


class TracedInt(_Itself, int):
    """An integer that remembers its origin (``int`` subclasses cannot have slots)."""

    origin: Origin


class TracedFloat(_Itself, float):
    """A number that remembers its origin."""

    origin: Origin


_TRACED: dict[type, type[TracedStr] | type[TracedInt] | type[TracedFloat]] = {
    str: TracedStr, int: TracedInt, float: TracedFloat}


def tag(value: Any, document: Document, path: PathKey) -> Any:
    """``value`` remembering ``document`` and ``path`` when it is a plain string or number (never a bool: its type is
    ``bool``, not ``int``)."""
    traced_type = _TRACED.get(type(value))
    if traced_type is None:
        return value
    out = traced_type(value)
    out.origin = Origin(document=document, file=document.file, number=document.number, path=path)
    return out


def traced(data: Any, document: Document, path: PathKey = ()) -> Any:
    """A copy of ``data`` (at ``path`` in ``document``) whose keys and scalars remember where they were written."""
    if isinstance(data, dict):
        return {tag(k, document, (*path, k)): traced(v, document, (*path, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [traced(v, document, (*path, i)) for i, v in enumerate(data)]
    return tag(data, document, path)


def origin_of(value: Any) -> Origin | None:
    origin = getattr(value, "origin", None)
    return origin if isinstance(origin, Origin) else None


def plain(value: Any) -> Any:
    """``value`` with every traced scalar (keys too) back to its plain type, for dumping and comparing."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, TracedStr):
        return str.__str__(value)
    if isinstance(value, TracedInt):
        return int(value)
    if isinstance(value, TracedFloat):
        return float(value)
    return value


def _document(doc: Document) -> Document:
    return doc._replace(data=traced(doc.data, doc), plain=False)


def _app(app: App) -> App:
    return dataclasses.replace(
        app,
        name=tag(app.name, app.doc, ("metadata", "name")),
        namespace=tag(app.namespace, app.doc, ("metadata", "namespace")),
        spec=traced(app.spec, app.doc, ("spec",)),
        base=tuple(_document(d) for d in app.base),
        objects=tuple(_document(d) for d in app.objects),
    )


def _overlay(overlay: Overlay) -> Overlay:
    return dataclasses.replace(overlay, spec=traced(overlay.spec, overlay.doc, ("spec",)))


def traced_project(project: Project) -> Project:
    """``project`` with all the data users wrote traced: Project, Apps, their base manifests and objects, Overlays."""
    doc = project.doc
    environments = {name: dataclasses.replace(
        env, overlays=tuple(_overlay(o) for o in env.overlays),
        namespaces=tuple(tag(ns, doc, ("spec", "environments", name, "namespaces", i)) if doc is not None else ns
                         for i, ns in enumerate(env.namespaces)))
        for name, env in project.environments.items()}
    return dataclasses.replace(
        project,
        name=tag(project.name, doc, ("metadata", "name")) if doc is not None else project.name,
        spec=traced(project.spec, doc, ("spec",)) if doc is not None else project.spec,
        apps=tuple(_app(app) for app in project.apps),
        environments=environments,
        resources=tuple(_document(d) for d in project.resources),
    )
