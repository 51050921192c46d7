"""The objects around an App's workload: its Service, ServiceAccount and PodDisruptionBudget."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manifestkit.build_meta import metadata, selector_labels, text
from manifestkit.kinds import is_replicated
from manifestkit.model import App, RenderContext


def service_name(app: App) -> str:
    service = app.spec.get("service") or {}
    return text(service.get("name", app.name))


_SERVICE_OWN = ("type", "headless", "ports", "name", "labels", "annotations")


def service(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> dict[str, Any]:
    """The app's own `service:`."""
    return service_of(app, ctx, labels, app.spec["service"], service_name(app))


def service_of(
    app: App, ctx: RenderContext, labels: Mapping[str, str], given: Mapping[str, Any], name: str
) -> dict[str, Any]:
    """A Service selecting the app's pods; every Kubernetes Service field of ``given`` passes through."""
    spec: dict[str, Any] = {}
    if "type" in given:
        spec["type"] = given["type"]
    if given.get("headless"):
        spec["clusterIP"] = "None"
    spec["selector"] = selector_labels(app)
    if given.get("ports"):
        spec["ports"] = [dict(p) for p in given["ports"]]
    spec.update((key, value) for key, value in given.items() if key not in _SERVICE_OWN)
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": metadata(name, app, ctx, {**labels, **given.get("labels", {})}, given.get("annotations")),
            "spec": spec}


def service_account_name(app: App) -> str | None:
    sa = app.spec.get("serviceAccount")
    if sa is True:
        return app.name
    if isinstance(sa, Mapping):
        return text(sa.get("name", app.name))
    return app.spec.get("serviceAccountName")


def service_account(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> dict[str, Any] | None:
    sa = app.spec.get("serviceAccount")
    if not sa or (isinstance(sa, Mapping) and sa.get("create") is False):
        return None
    spec = sa if isinstance(sa, Mapping) else {}
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(text(service_account_name(app)), app, ctx, labels, spec.get("annotations")),
    }
    if "automountServiceAccountToken" in spec:
        obj["automountServiceAccountToken"] = spec["automountServiceAccountToken"]
    return obj


def pdb(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> dict[str, Any] | None:
    """The environment's PodDisruptionBudget for a replicated workload of two or more replicas."""
    settings = ctx.settings.pdb
    kind = app.spec.get("workload", "Deployment")
    if not settings or not is_replicated(kind) or int(app.spec.get("replicas", 1)) < 2:
        return None
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": metadata(app.name, app, ctx, labels),
            "spec": {**settings, "selector": {"matchLabels": selector_labels(app)}}}
