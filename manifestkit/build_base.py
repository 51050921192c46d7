"""The objects of an App's `base:` manifests, with the App's changes and the environment's metadata applied."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manifestkit.base import base_workload
from manifestkit.build_service import service_account_name
from manifestkit.build_workload import POD_FIELDS, container
from manifestkit.kinds import CONTAINER_LISTS, is_cluster_scoped, is_replicated, pod_template, with_pod_template
from manifestkit.merge import merge
from manifestkit.model import App, RenderContext, Resource, Source


def base_objects(app: App, ctx: RenderContext) -> list[Resource]:
    """Every object of the App's base documents; the base workload gets the App's pod fields."""
    index, _ = base_workload(app)
    out = []
    for i, doc in enumerate(app.base):
        obj = doc.data
        if not isinstance(obj, Mapping) or "kind" not in obj:
            continue
        if i == index:
            obj = _patched_base_workload(obj, app, ctx)
        obj = _env_metadata(obj, app, ctx, workload=(i == index))
        out.append(
            Resource(obj=obj, app=app.name, source=Source(file=doc.file, line=doc.position(())[0], document=doc))
        )
    return out


def _patched_base_workload(obj: Mapping[str, Any], app: App, ctx: RenderContext) -> dict[str, Any]:
    template = pod_template(obj) or {}
    pod = dict(template.get("spec", {}))
    for key in POD_FIELDS:
        if key in CONTAINER_LISTS:
            if key in app.spec:
                pod[key] = [container(c, ctx) for c in app.spec[key]]
        elif key in app.spec:
            pod[key] = merge(pod.get(key), app.spec[key], key) if key in pod else app.spec[key]
    if app.spec.get("serviceAccount") and service_account_name(app):
        pod["serviceAccountName"] = service_account_name(app)   # the ServiceAccount the App creates runs its pods
    new_template = dict(template)
    if app.spec.get("podLabels") or app.spec.get("podAnnotations"):
        meta = dict(template.get("metadata", {}))
        if app.spec.get("podLabels"):
            meta["labels"] = {**meta.get("labels", {}), **app.spec["podLabels"]}
        if app.spec.get("podAnnotations"):
            meta["annotations"] = {**meta.get("annotations", {}), **app.spec["podAnnotations"]}
        new_template["metadata"] = meta
    new_template["spec"] = pod
    result = with_pod_template(obj, new_template)
    if "replicas" in app.spec and is_replicated(obj["kind"]) and app.spec["replicas"] != obj["spec"].get("replicas"):
        result["spec"] = {**result["spec"], "replicas": app.spec["replicas"]}
    return result


def _env_metadata(obj: Mapping[str, Any], app: App, ctx: RenderContext, workload: bool) -> Mapping[str, Any]:
    """The environment's namespace, labels and annotations on a base object (only what is set)."""
    settings = ctx.settings
    namespace = app.namespace if not is_cluster_scoped(obj["kind"]) else None
    if not (namespace or settings.labels or settings.annotations):
        return obj
    meta = dict(obj.get("metadata", {}))
    if namespace and meta.get("namespace") != namespace:
        meta["namespace"] = namespace
    if settings.labels:
        meta["labels"] = {**meta.get("labels", {}), **settings.labels}
    if settings.annotations:
        meta["annotations"] = {**meta.get("annotations", {}), **settings.annotations}
    out = {**obj, "metadata": meta}
    template = pod_template(out)
    if workload and template is not None and settings.labels:
        tmeta = dict(template.get("metadata", {}))
        tmeta["labels"] = {**tmeta.get("labels", {}), **settings.labels}
        out = with_pod_template(out, {**template, "metadata": tmeta})
    return out
