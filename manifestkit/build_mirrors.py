"""SecretMirrors from the `mirrors:` lists of the Apps and the Project (seed 003), each checked where it was written.

An App's mirrors take its namespace and labels; the Project's belong to no app (a Vault to
Vault copy has no Secret to hang on) and take the environment's namespace unless they name
one. What each entry means is :mod:`manifestkit.secrets.secret_mirror`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from manifestkit.build_meta import metadata
from manifestkit.diagnostics import ManifestkitError
from manifestkit.model import MANAGED_BY, App, RenderContext, Resource, Source
from manifestkit.secrets.secret_mirror import duplicates, problems, secret_mirror, spec_of
from manifestkit.yamlio import Document

WHERE = ("spec", "mirrors")


def app_mirrors(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> list[Resource]:
    """The App's `mirrors:` as SecretMirrors in its namespace (or the entry's)."""
    entries: Sequence[Mapping[str, Any]] = app.spec.get("mirrors") or []
    _check(entries, app.doc, lambda entry: entry.get("namespace") or app.namespace)
    out = []
    for i, entry in enumerate(entries):
        meta = metadata(str(entry["name"]), app, ctx, labels)
        out.append(_resource(entry, _placed(meta, entry.get("namespace")), app.doc, i, app.name))
    return out


def project_mirrors(ctx: RenderContext) -> list[Resource]:
    """The Project's `mirrors:`, labelled as the project's, in the entry's or the environment's namespace."""
    doc = ctx.project.doc
    entries: Sequence[Mapping[str, Any]] = ctx.project.spec.get("mirrors") or []
    if doc is None or not entries:
        return []
    _check(entries, doc, lambda entry: entry.get("namespace") or ctx.settings.namespace)
    labels = {"app.kubernetes.io/part-of": ctx.project.name, "app.kubernetes.io/managed-by": MANAGED_BY,
              **ctx.settings.labels}
    out = []
    for i, entry in enumerate(entries):
        namespace = entry.get("namespace") or ctx.settings.namespace
        meta: dict[str, Any] = {"name": str(entry["name"]), **({"namespace": namespace} if namespace else {}),
                                "labels": labels}
        if ctx.settings.annotations:
            meta["annotations"] = dict(ctx.settings.annotations)
        out.append(_resource(entry, meta, doc, i, None))
    return out


def _check(entries: Sequence[Mapping[str, Any]], doc: Document,
           namespace_of: Callable[[Mapping[str, Any]], str | None]) -> None:
    found = [doc.diagnostic((*WHERE, i, *path), f"mirror {entry.get('name')!r}: {message}", hint=hint)
             for i, entry in enumerate(entries) for path, message, hint in problems(entry)]
    found += [doc.diagnostic((*WHERE, *path), message, hint=hint)
              for path, message, hint in duplicates(entries, namespace_of)]
    if found:
        raise ManifestkitError(found)


def _placed(meta: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    """``meta`` with the entry's own namespace in place of the App's."""
    if not namespace:
        return meta
    return {"name": meta["name"], "namespace": namespace, **{k: v for k, v in meta.items()
                                                            if k not in ("name", "namespace")}}


def _resource(entry: Mapping[str, Any], meta: Mapping[str, Any], doc: Document, index: int,
              app: str | None) -> Resource:
    source = Source(file=doc.file, line=doc.position((*WHERE, index))[0])
    return Resource(obj=secret_mirror(meta, spec_of(entry)), app=app, source=source)

