"""An App's workload object (Deployment, StatefulSet, DaemonSet, Job, CronJob) and its pod spec."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manifestkit.build_meta import metadata, selector_labels
from manifestkit.build_service import service_account_name, service_name
from manifestkit.diagnostics import ManifestkitError
from manifestkit.images import rewrite_image
from manifestkit.kinds import CONTAINER_LISTS, KINDS, has_label_selector, is_replicated, runs_to_completion
from manifestkit.model import App, RenderContext

# App spec fields that belong to the workload object's spec, by kind
WORKLOAD_FIELDS: dict[str, tuple[str, ...]] = {
    name: kind.app_fields for name, kind in KINDS.items() if kind.app_fields is not None
}
JOB_FIELDS = WORKLOAD_FIELDS["Job"]
POD_FIELDS = ("serviceAccountName", "initContainers", "containers", "volumes", "activeDeadlineSeconds", "affinity",
              "automountServiceAccountToken", "dnsConfig", "dnsPolicy", "enableServiceLinks", "ephemeralContainers",
              "hostAliases", "hostIPC", "hostNetwork", "hostPID", "hostUsers", "hostname", "imagePullSecrets",
              "nodeName", "nodeSelector", "os", "overhead", "preemptionPolicy", "priority", "priorityClassName",
              "readinessGates", "resourceClaims", "restartPolicy", "runtimeClassName", "schedulerName",
              "schedulingGates", "securityContext", "setHostnameAsFQDN", "shareProcessNamespace", "subdomain",
              "terminationGracePeriodSeconds", "tolerations", "topologySpreadConstraints")


# App fields that make objects of their own: an App with one of them needs no workload.
_OTHER_OBJECTS = ("objects", "configMaps", "secrets", "serviceAccount")


def check_images(app: App) -> None:
    """An App without `base:` needs an image in every container, and containers unless it makes other objects."""
    problems = [app.doc.diagnostic(("spec", key, i), f"container {c.get('name')!r} has no image",
                                   hint="add `image: <repository>:<tag>`")
                for key in CONTAINER_LISTS for i, c in enumerate(app.spec.get(key) or [])
                if not c.get("image")]
    if app.spec.get("autoscaling") and "replicas" in app.spec:
        problems.append(
            app.doc.diagnostic(
                ("spec", "replicas"),
                "the App sets both `replicas` and `autoscaling`",
                hint="remove `replicas`: the HorizontalPodAutoscaler sets them, from `autoscaling.minReplicas`",
            )
        )
    if not app.spec.get("containers") and not any(app.spec.get(key) for key in _OTHER_OBJECTS):
        problems.append(
            app.doc.diagnostic(
                ("spec",),
                "the App has no containers",
                hint="add `containers:` with at least one container, or `base:` an existing manifest",
            )
        )
    if problems:
        raise ManifestkitError(problems)


def pod_spec(app: App, ctx: RenderContext) -> dict[str, Any]:
    spec = app.spec
    pod: dict[str, Any] = {}
    if service_account_name(app):
        pod["serviceAccountName"] = service_account_name(app)
    for key in POD_FIELDS:
        if key in spec and key != "serviceAccountName":
            pod[key] = spec[key]
    for key in CONTAINER_LISTS:
        if key in pod:
            pod[key] = [container(c, ctx) for c in pod[key]]
    kind = spec.get("workload", "Deployment")
    if runs_to_completion(kind) and "restartPolicy" not in pod:
        pod["restartPolicy"] = "Never"   # Jobs accept only Never or OnFailure
    return pod


def container(spec: Mapping[str, Any], ctx: RenderContext) -> dict[str, Any]:
    """A container with the environment's image rewrites applied."""
    out = dict(spec)
    if ctx.settings.images and "image" in out:
        out["image"] = rewrite_image(out["image"], ctx.settings.images)
    return out


def workload(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> dict[str, Any]:
    kind = app.spec.get("workload", "Deployment")
    pod_meta: dict[str, Any] = {"labels": {**labels, **app.spec.get("podLabels", {})}}
    if app.spec.get("podAnnotations"):
        pod_meta["annotations"] = dict(app.spec["podAnnotations"])
    template = {"metadata": pod_meta, "spec": pod_spec(app, ctx)}
    spec: dict[str, Any] = {}
    if is_replicated(kind) and not app.spec.get("autoscaling"):   # else the HPA owns spec.replicas
        spec["replicas"] = app.spec.get("replicas", 1)
    if kind == "StatefulSet":
        spec["serviceName"] = app.spec.get("serviceName", service_name(app))
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
            "metadata": metadata(app.name, app, ctx, labels, app.spec.get("annotations")), "spec": spec}
