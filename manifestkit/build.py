"""The build step: merged App specs → Kubernetes objects (workload, Service, ConfigMaps,
Secrets, ServiceAccount, PodDisruptionBudget), or the objects of a `base:` manifest with
the App's changes applied."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from manifestkit.base import base_workload
from manifestkit.diagnostics import Diagnostic, ManifestkitError, display_path, gather
from manifestkit.kinds import CONTAINER_LISTS, KINDS, has_label_selector, is_cluster_scoped, is_replicated, pod_template, runs_to_completion, with_pod_template
from manifestkit.merge import merge
from manifestkit.model import MANAGED_BY, App, RenderContext, Resource
from manifestkit.overlay import rewrite_image
from manifestkit.templating import describe_error, render_file

# App spec fields that belong to the workload object's spec, by kind
WORKLOAD_FIELDS: dict[str, tuple[str, ...]] = {name: kind.app_fields for name, kind in KINDS.items() if kind.app_fields is not None}
JOB_FIELDS = WORKLOAD_FIELDS["Job"]
POD_FIELDS = ("serviceAccountName", "initContainers", "containers", "volumes", "activeDeadlineSeconds", "affinity",
              "automountServiceAccountToken", "dnsConfig", "dnsPolicy", "enableServiceLinks", "ephemeralContainers",
              "hostAliases", "hostIPC", "hostNetwork", "hostPID", "hostUsers", "hostname", "imagePullSecrets",
              "nodeName", "nodeSelector", "os", "overhead", "preemptionPolicy", "priority", "priorityClassName",
              "readinessGates", "resourceClaims", "restartPolicy", "runtimeClassName", "schedulerName",
              "schedulingGates", "securityContext", "setHostnameAsFQDN", "shareProcessNamespace", "subdomain",
              "terminationGracePeriodSeconds", "tolerations", "topologySpreadConstraints")


def build_objects(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    """Pipeline step: add every app's objects to ``resources``."""
    return [*resources, *gather(ctx.apps.values(), lambda app: build_app(app, ctx))]


def selector_labels(app: App) -> dict[str, str]:
    return {"app.kubernetes.io/name": app.name, "app.kubernetes.io/instance": app.name}


def common_labels(app: App, ctx: RenderContext) -> dict[str, str]:
    labels = {**selector_labels(app)}
    if "component" in app.spec:
        labels["app.kubernetes.io/component"] = app.spec["component"]
    labels["app.kubernetes.io/part-of"] = ctx.project.name
    labels["app.kubernetes.io/managed-by"] = MANAGED_BY
    return {**labels, **app.spec.get("labels", {}), **ctx.settings.labels}


def _metadata(name: str, app: App, ctx: RenderContext, labels: Mapping[str, str],
              annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if app.namespace:
        meta["namespace"] = app.namespace
    meta["labels"] = dict(labels)
    merged = {**ctx.settings.annotations, **(annotations or {})}
    if merged:
        meta["annotations"] = merged
    return meta


def build_app(app: App, ctx: RenderContext) -> list[Resource]:
    origin = f"{app.file}:{app.doc.position(('metadata', 'name'))[0]}"
    labels = common_labels(app, ctx)
    objects: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
    if app.base:
        base = _base_objects(app, ctx)
    else:
        base = []
        _check_images(app)
        objects.append((_workload(app, ctx, labels), {}))
    if app.spec.get("service") is not None and "service" in app.spec:
        objects.append((_service(app, ctx, labels), {}))
    sa = _service_account(app, ctx, labels)
    if sa:
        objects.append((sa, {}))
    objects.extend((cm, {}) for cm in _config_maps(app, ctx, labels))
    objects.extend(_secrets(app, ctx, labels))
    pdb = _pdb(app, ctx, labels)
    if pdb:
        objects.append((pdb, {}))
    return [*base, *(Resource(obj, app.name, origin, None, extra) for obj, extra in objects)]


def _check_images(app: App) -> None:
    problems = [app.doc.diagnostic(("spec", key, i), f"container {c.get('name')!r} has no image",
                                   hint="add `image: <repository>:<tag>`")
                for key in CONTAINER_LISTS for i, c in enumerate(app.spec.get(key) or [])
                if not c.get("image")]
    if not app.spec.get("containers"):
        problems.append(app.doc.diagnostic(("spec",), "the App has no containers",
                                           hint="add `containers:` with at least one container, or `base:` an existing manifest"))
    if problems:
        raise ManifestkitError(problems)


def _pod_spec(app: App, ctx: RenderContext) -> dict[str, Any]:
    spec = app.spec
    pod: dict[str, Any] = {}
    if _sa_name(app):
        pod["serviceAccountName"] = _sa_name(app)
    for key in POD_FIELDS:
        if key in spec and key != "serviceAccountName":
            pod[key] = spec[key]
    for key in CONTAINER_LISTS:
        if key in pod:
            pod[key] = [_container(c, ctx) for c in pod[key]]
    kind = spec.get("workload", "Deployment")
    if runs_to_completion(kind) and "restartPolicy" not in pod:
        pod["restartPolicy"] = "Never"   # Jobs accept only Never or OnFailure
    return pod


def _container(container: Mapping[str, Any], ctx: RenderContext) -> dict[str, Any]:
    out = dict(container)
    if ctx.settings.images and "image" in out:
        out["image"] = rewrite_image(out["image"], ctx.settings.images)
    return out


def _workload(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> dict[str, Any]:
    kind = app.spec.get("workload", "Deployment")
    pod_meta: dict[str, Any] = {"labels": {**labels, **app.spec.get("podLabels", {})}}
    if app.spec.get("podAnnotations"):
        pod_meta["annotations"] = dict(app.spec["podAnnotations"])
    template = {"metadata": pod_meta, "spec": _pod_spec(app, ctx)}
    spec: dict[str, Any] = {}
    if is_replicated(kind):
        spec["replicas"] = app.spec.get("replicas", 1)
    if kind == "StatefulSet":
        spec["serviceName"] = app.spec.get("serviceName", _service_name(app))
    if kind != "CronJob":
        if has_label_selector(kind):
            spec["selector"] = {"matchLabels": selector_labels(app)}
        for key in WORKLOAD_FIELDS.get(kind, ()):
            if key in app.spec and key not in spec:
                spec[key] = app.spec[key]
        spec["template"] = template
    else:
        for key in WORKLOAD_FIELDS["CronJob"]:
            if key in app.spec:
                spec[key] = app.spec[key]
        job = {key: app.spec[key] for key in JOB_FIELDS if key in app.spec}
        spec["jobTemplate"] = {"spec": {**job, "template": template}}
    return {"apiVersion": KINDS[kind].api_version, "kind": kind,
            "metadata": _metadata(app.name, app, ctx, labels, app.spec.get("annotations")), "spec": spec}


def _service_name(app: App) -> str:
    service = app.spec.get("service") or {}
    return str(service.get("name", app.name))


def _service(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> dict[str, Any]:
    service = app.spec["service"]
    spec: dict[str, Any] = {}
    if "type" in service:
        spec["type"] = service["type"]
    if service.get("headless"):
        spec["clusterIP"] = "None"
    spec["selector"] = selector_labels(app)
    if service.get("ports"):
        spec["ports"] = [dict(p) for p in service["ports"]]
    for key, value in service.items():
        if key not in ("type", "headless", "ports", "name", "labels", "annotations"):
            spec[key] = value
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": _metadata(_service_name(app), app, ctx, {**labels, **service.get("labels", {})},
                                  service.get("annotations")),
            "spec": spec}


def _sa_name(app: App) -> str | None:
    sa = app.spec.get("serviceAccount")
    if sa is True:
        return app.name
    if isinstance(sa, Mapping):
        return str(sa.get("name", app.name))
    return app.spec.get("serviceAccountName")


def _service_account(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> dict[str, Any] | None:
    sa = app.spec.get("serviceAccount")
    if not sa or (isinstance(sa, Mapping) and sa.get("create") is False):
        return None
    spec = sa if isinstance(sa, Mapping) else {}
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ServiceAccount",
                           "metadata": _metadata(str(_sa_name(app)), app, ctx, labels, spec.get("annotations"))}
    if "automountServiceAccountToken" in spec:
        obj["automountServiceAccountToken"] = spec["automountServiceAccountToken"]
    return obj


def _config_maps(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    problems: list[Diagnostic] = []
    for name, cm in (app.spec.get("configMaps") or {}).items():
        if cm is None:
            continue
        data = {k: _string(v) for k, v in (cm.get("data") or {}).items() if v is not None}
        binary = dict(cm.get("binaryData") or {})
        for key, source in (cm.get("files") or {}).items():
            if source is None:
                continue
            where = ("spec", "configMaps", name, "files", key)
            try:
                content = _file_content(app, ctx, source, where)
            except ManifestkitError as exc:
                problems.extend(exc.diagnostics)
                continue
            if isinstance(content, bytes):
                binary[key] = base64.b64encode(content).decode()
            else:
                data[key] = content
        obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": _metadata(name, app, ctx, {**labels, **cm.get("labels", {})}, cm.get("annotations"))}
        if "immutable" in cm:
            obj["immutable"] = cm["immutable"]
        if data:
            obj["data"] = data
        if binary:
            obj["binaryData"] = binary
        out.append(obj)
    if problems:
        raise ManifestkitError(problems)
    return out


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _file_content(app: App, ctx: RenderContext, source: Any, at: tuple[str | int, ...]) -> str | bytes:
    """A ConfigMap file: read from disk, rendered from a Jinja2 template, or given inline."""
    kind, value = ("file", source) if isinstance(source, str) else next(iter(source.items()))
    if kind == "content":
        return str(value)
    path = (app.root / value)
    root = ctx.project.root
    if not _inside(root, path):
        raise ManifestkitError([app.doc.diagnostic(at, f"{value!r} is outside the project folder {display_path(root)}/",
                                      hint="keep config files and templates inside the project")])
    if not path.is_file():
        raise ManifestkitError([app.doc.diagnostic(at, f"{kind} {value!r} not found", hint=f"the path is relative to {display_path(app.root)}/")])
    if kind == "file":
        raw = path.read_bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    context = {"values": app.spec.get("values", {}), "app": {"name": app.name, "namespace": app.namespace},
               "env": ctx.env, "project": {"name": ctx.project.name}}
    try:
        return render_file(root, path.resolve().relative_to(root.resolve()).as_posix(), context)
    except Exception as exc:
        message, line = describe_error(exc)
        used_at = app.doc.position(at)[0]
        raise ManifestkitError([Diagnostic(f"{message} (used by {app.file}:{used_at})", file=display_path(path), line=line,
                                           hint="template variables are `values`, `app`, `env` and `project`")]) from None


def _secrets(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> list[tuple[dict[str, Any], Mapping[str, Any]]]:
    out: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
    for name, secret in (app.spec.get("secrets") or {}).items():
        if secret is None:
            continue
        obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret",
                               "metadata": _metadata(name, app, ctx, {**labels, **secret.get("labels", {})},
                                                     secret.get("annotations")),
                               "type": secret.get("type", "Opaque")}
        if "immutable" in secret:
            obj["immutable"] = secret["immutable"]
        if secret.get("data"):
            obj["data"] = dict(secret["data"])
        if secret.get("stringData"):
            obj["stringData"] = {k: _string(v) for k, v in secret["stringData"].items() if v is not None}
        extra = {k: secret[k] for k in ("mirror", "output") if k in secret}
        out.append((obj, extra))
    return out


def _pdb(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> dict[str, Any] | None:
    pdb = ctx.settings.pdb
    kind = app.spec.get("workload", "Deployment")
    if not pdb or not is_replicated(kind) or int(app.spec.get("replicas", 1)) < 2:
        return None
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": _metadata(app.name, app, ctx, labels),
            "spec": {**pdb, "selector": {"matchLabels": selector_labels(app)}}}


# ------------------------------------------------------------------ base manifests

def _base_objects(app: App, ctx: RenderContext) -> list[Resource]:
    index, _ = base_workload(app)
    out = []
    for i, doc in enumerate(app.base):
        obj = doc.data
        if not isinstance(obj, Mapping) or "kind" not in obj:
            continue
        if i == index:
            obj = _patched_base_workload(obj, app, ctx)
        obj = _env_metadata(obj, app, ctx, workload=(i == index))
        out.append(Resource(obj, app.name, f"{doc.file}:{doc.position(())[0]}", doc))
    return out


def _patched_base_workload(obj: Mapping[str, Any], app: App, ctx: RenderContext) -> dict[str, Any]:
    template = pod_template(obj) or {}
    pod = dict(template.get("spec", {}))
    for key in POD_FIELDS:
        if key in CONTAINER_LISTS:
            if key in app.spec:
                pod[key] = [_container(c, ctx) for c in app.spec[key]]
        elif key in app.spec:
            pod[key] = merge(pod.get(key), app.spec[key], key) if key in pod else app.spec[key]
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
