"""Objects written as they are: an App's `objects:` and a Project's `resources:`, with namespace and labels applied."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from manifestkit.build_meta import common_labels
from manifestkit.kinds import is_cluster_scoped
from manifestkit.model import MANAGED_BY, App, Project, RenderContext, Resource, Source
from manifestkit.yamlio import Document


def app_objects(app: App, ctx: RenderContext) -> list[Resource]:
    """The App's `objects:`: inline ones located in the App file, file ones in theirs."""
    if not app.spec.get("objects") and not app.objects:
        return []
    labels = common_labels(app, ctx)
    scoped = cluster_kinds(ctx)
    return [Resource(obj=_placed(obj, app.namespace, labels, ctx, scoped), app=app.name, source=source)
            for obj, source in _entries(app.spec.get("objects", []), app.objects, app.doc, ("spec", "objects"))]


def project_objects(ctx: RenderContext) -> list[Resource]:
    """The Project's `resources:`: they belong to no app; namespaced ones get the environment's namespace unless they
    name one."""
    project = ctx.project
    if project.doc is None:
        return []
    labels = {
        "app.kubernetes.io/part-of": project.name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        **ctx.settings.labels,
    }
    scoped = cluster_kinds(ctx)
    return [
        Resource(
            obj=_placed(obj, obj.get("metadata", {}).get("namespace") or ctx.settings.namespace, labels, ctx, scoped),
            source=source,
        )
        for obj, source in _entries(
            project.spec.get("resources", []), project.resources, project.doc, ("spec", "resources")
        )
    ]


def cluster_kinds(ctx: RenderContext) -> frozenset[str]:
    """Custom kinds that a CRD among the project's objects declares cluster-scoped (found once per
    project: every App with `objects:` asks)."""
    project, known = _CLUSTER_KINDS.get("last", (_gone, frozenset()))
    if project() is not ctx.project:
        project, known = _CLUSTER_KINDS["last"] = (weakref.ref(ctx.project), _cluster_kinds(ctx.project))
    return known


# The last project's answer: a Project is frozen, so the answer stays right while it is the same object. It is
# held weakly: a project rendered is let go with its Apps (most of a render's memory), not kept for the next.
_CLUSTER_KINDS: dict[str, tuple[Callable[[], Project | None], frozenset[str]]] = {}


def _gone() -> Project | None:
    return None


def _cluster_kinds(project: Project) -> frozenset[str]:
    docs = [*project.resources, *(d for app in project.apps for d in app.objects)]
    inline = [o for o in project.spec.get("resources", []) if isinstance(o, Mapping)]
    crds = [*(d.data for d in docs), *inline]
    return frozenset(str(c.get("spec", {}).get("names", {}).get("kind")) for c in crds
                     if isinstance(c, Mapping) and c.get("kind") == "CustomResourceDefinition"
                     and c.get("spec", {}).get("scope") == "Cluster")


def _entries(entries: Sequence[Any], docs: Sequence[Document], doc: Document,
             where: tuple[str, str]) -> Iterator[tuple[Mapping[str, Any], Source]]:
    files = iter(docs)
    for i, entry in enumerate(entries):
        if isinstance(entry, Mapping):
            yield (
                entry,
                Source(file=doc.file, line=doc.position((*where, i))[0], document=_within(doc, (*where, i), entry)),
            )
    for d in files:
        yield d.data, Source(file=d.file, line=d.position(())[0], document=d)


def _within(doc: Document, prefix: tuple[str | int, ...], data: Any) -> Document:
    """The part of ``doc`` at ``prefix`` as a document of its own, so errors in an inline object point into the App
    file."""
    positions = {key[len(prefix):]: pos for key, pos in doc.positions.items() if key[:len(prefix)] == prefix}
    return Document(data, doc.file, positions, doc.number)


def _placed(obj: Mapping[str, Any], namespace: str | None, labels: Mapping[str, str], ctx: RenderContext,
            scoped: frozenset[str]) -> dict[str, Any]:
    """``obj`` with the namespace (none for a cluster-scoped kind), the labels under its own and the
    environment's annotations under its own."""
    meta = {
        key: value
        for key, value in obj.get("metadata", {}).items()
        if key not in ("namespace", "labels", "annotations")
    }
    own = obj.get("metadata", {})
    cluster = is_cluster_scoped(obj.get("kind")) or obj.get("kind") in scoped
    if not cluster and (namespace or own.get("namespace")):
        meta["namespace"] = namespace or own["namespace"]
    meta["labels"] = {**labels, **own.get("labels", {})}
    annotations = {**ctx.settings.annotations, **own.get("annotations", {})}
    if annotations:
        meta["annotations"] = annotations
    return {**obj, "metadata": meta}
