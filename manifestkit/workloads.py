"""Where each workload kind keeps its pod template. Shared by every step that edits pods."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

# Path from the object root to the pod *template* (metadata + spec) by kind.
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Pod": (),
}

# Kinds that live outside namespaces (no metadata.namespace).
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                            "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass", "RuntimeClass",
                            "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "APIService"})

API_VERSIONS: dict[str, str] = {
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "Pod": "v1",
}


def is_workload(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") in POD_TEMPLATE_PATHS and isinstance(obj.get("spec"), Mapping)


def pod_template(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod template (with ``metadata`` and ``spec``) of a workload, or None."""
    if not is_workload(obj):
        return None
    node: Any = obj
    for key in POD_TEMPLATE_PATHS[obj["kind"]]:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else None


def with_pod_template(obj: Mapping[str, Any], template: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` whose pod template is ``template`` (copies only along the path)."""
    path = POD_TEMPLATE_PATHS[obj["kind"]]
    if not path:
        return {**obj, "metadata": template.get("metadata", obj.get("metadata", {})), "spec": template["spec"]}
    return _set_in(obj, path, template)


def _set_in(node: Mapping[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    head, rest = path[0], path[1:]
    return {**node, head: _set_in(node.get(head, {}), rest, value) if rest else value}


def template_path(kind: str) -> tuple[str, ...]:
    return POD_TEMPLATE_PATHS[kind]


def all_containers(pod_spec: Mapping[str, Any]) -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    """(list key, index, container) for init containers then containers."""
    for key in ("initContainers", "containers"):
        for index, container in enumerate(pod_spec.get(key) or []):
            if isinstance(container, Mapping):
                yield key, index, container
