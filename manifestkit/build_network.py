"""The objects that reach an App's pods and scale them: more Services, Ingress, HorizontalPodAutoscaler,
NetworkPolicy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manifestkit.build_meta import metadata, selector_labels, text
from manifestkit.build_service import service_name, service_of
from manifestkit.kinds import CONTAINER_LISTS, KINDS
from manifestkit.model import App, RenderContext


def services(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """The app's `services:`, each by its own name."""
    return [service_of(app, ctx, labels, given, text(given["name"])) for given in app.spec.get("services") or []]


def _backend_port(app: App, service: str) -> dict[str, Any]:
    """The first port of the named Service of the app: by name when it has one (a rename of the number then
    needs no Ingress change), else by number."""
    given = [app.spec["service"]] if app.spec.get("service") and service == service_name(app) else []
    given += [s for s in app.spec.get("services") or [] if s.get("name") == service]
    ports = [p for s in given for p in s.get("ports") or []]
    if not ports:
        return {"number": 80}
    return {"name": ports[0]["name"]} if ports[0].get("name") else {"number": ports[0]["port"]}


def ingress(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> dict[str, Any] | None:
    """An Ingress for every host and path of `ingress:` to the app's Service; TLS for all hosts with `tls.secretName`.
    https://kubernetes.io/docs/concepts/services-networking/ingress/"""
    given = app.spec.get("ingress")
    if not given:
        return None
    paths = []
    for entry in given.get("paths") or [{"path": "/"}]:
        service = entry.get("service", service_name(app))
        port = {"number": entry["port"]} if isinstance(entry.get("port"), int) else \
            {"name": entry["port"]} if entry.get("port") else _backend_port(app, service)
        paths.append({"path": entry["path"], "pathType": entry.get("pathType", "Prefix"),
                      "backend": {"service": {"name": service, "port": port}}})
    spec: dict[str, Any] = {}
    if given.get("className"):
        spec["ingressClassName"] = given["className"]
    if given.get("tls"):
        spec["tls"] = [
            {"hosts": list(given["tls"].get("hosts", given["hosts"])), "secretName": given["tls"]["secretName"]}
        ]
    spec["rules"] = [{"host": host, "http": {"paths": paths}} for host in given["hosts"]]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": metadata(given.get("name", app.name), app, ctx, {**labels, **given.get("labels", {})},
                                 given.get("annotations")),
            "spec": spec}


def autoscaler(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> dict[str, Any] | None:
    """A HorizontalPodAutoscaler (autoscaling/v2) for the app's workload.
    https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/"""
    given = app.spec.get("autoscaling")
    if not given:
        return None
    kind = app.spec.get("workload", "Deployment")
    spec: dict[str, Any] = {"scaleTargetRef": {"apiVersion": KINDS[kind].api_version, "kind": kind, "name": app.name},
                            "minReplicas": given.get("minReplicas", 1), "maxReplicas": given["maxReplicas"]}
    metrics = [{"type": "Resource", "resource": {"name": name, "target": {"type": "Utilization",
                                                                           "averageUtilization": given[name]}}}
               for name in ("cpu", "memory") if name in given]
    if metrics:
        spec["metrics"] = metrics
    if given.get("behavior"):
        spec["behavior"] = given["behavior"]
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": metadata(app.name, app, ctx, labels), "spec": spec}


def network_policy(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> dict[str, Any] | None:
    """A NetworkPolicy that lets `from:` peers (anyone, without them, unless `defaultDeny`) reach the app's
    container ports. https://kubernetes.io/docs/concepts/services-networking/network-policies/"""
    given = app.spec.get("networkPolicy")
    if given is None:
        return None
    ports = [{"port": p["containerPort"], "protocol": p.get("protocol", "TCP")}
             for key in CONTAINER_LISTS for c in app.spec.get(key) or [] for p in c.get("ports") or []
             if "containerPort" in p]
    rule: dict[str, Any] = {}
    if given.get("from"):
        rule["from"] = [dict(peer) for peer in given["from"]]
    if ports:
        rule["ports"] = ports
    deny = given.get("defaultDeny") and not given.get("from")
    spec = {"podSelector": {"matchLabels": selector_labels(app)}, "policyTypes": ["Ingress"],
            "ingress": [] if deny else [rule]}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": metadata(app.name, app, ctx, labels), "spec": spec}
