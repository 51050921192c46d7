"""Lint checks on the shape of workloads and Services: selectors, ports, names and mounts.
Each check is a pure function ``(obj, ctx, pod) -> hits``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from manifestkit.diagnostics import did_you_mean
from manifestkit.kinds import (
    has_label_selector,
    is_long_running,
    runs_to_completion,
)
from manifestkit.lint.base import Hit, LintContext, WorkloadIndex
from manifestkit.lint.podspec import Path, Pod, as_list, as_map, containers, pod_metadata, pod_spec, ref
from manifestkit.yamlio import format_path

# ---------------------------------------------------------------- selectors

def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Does a LabelSelector (matchLabels + matchExpressions) select ``labels``?

    https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements
    """
    return not any(True for _ in _selector_misses(selector, labels, ()))


def _selector_misses(selector: Mapping[str, Any], labels: Mapping[str, Any], path: Path) -> Iterator[Hit]:
    for key, value in as_map(selector.get("matchLabels")).items():
        if key not in labels:
            yield Hit(
                (*path, "matchLabels", key),
                f"selector {key}={value} does not match the pod template: it has no label {key!r}",
            )
        elif str(labels[key]) != str(value):
            yield Hit(
                (*path, "matchLabels", key),
                f"selector {key}={value} does not match the pod template label {key}={labels[key]}",
            )
    for index, expr in enumerate(as_list(selector.get("matchExpressions"))):
        expr = as_map(expr)
        label, op, values = str(expr.get("key")), expr.get("operator"), [str(v) for v in as_list(expr.get("values"))]
        actual = labels.get(label)
        ok = {"In": actual is not None and str(actual) in values,
              "NotIn": actual is None or str(actual) not in values,
              "Exists": actual is not None,
              "DoesNotExist": actual is None}.get(str(op), True)
        if not ok:
            found = f"{label}={actual}" if actual is not None else f"no label {label!r}"
            yield Hit(
                (*path, "matchExpressions", index),
                f"selector expression {label} {op} {values} does not match the pod template ({found})",
            )


def check_selector_labels(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """A workload whose selector does not select its own pod template (seed 001)."""
    if not has_label_selector(obj.get("kind")):
        return
    selector = as_map(as_map(obj.get("spec")).get("selector"))
    labels = as_map((pod.meta if pod else pod_metadata(obj)[1]).get("labels"))
    yield from _selector_misses(selector, labels, ("spec", "selector"))


def index_workloads(objects: Iterable[Mapping[str, Any]]) -> WorkloadIndex:
    """Index the workloads and Pods of a run by namespace and pod label.

    Jobs count too: a Service may front a Job's pods (an indexed Job's workers, a batch
    server), and MK002 must not call such a Service empty.
    """
    count: dict[str, int] = {}
    by_label: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for obj in objects:
        if is_long_running(obj.get("kind")) or runs_to_completion(obj.get("kind")):
            namespace = _namespace(obj)
            count[namespace] = count.get(namespace, 0) + 1
            for key, value in as_map(pod_metadata(obj)[1].get("labels")).items():
                by_label.setdefault((namespace, str(key), str(value)), []).append(obj)
    return WorkloadIndex(count, by_label)


def _selected(ctx: LintContext, namespace: str, selector: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The workloads of ``namespace`` whose pod template labels ``selector`` (a map) selects."""
    key, value = next(iter(selector.items()))
    candidates = ctx.workloads.by_label.get((namespace, str(key), str(value)), [])
    return [
        w for w in candidates if selector_matches({"matchLabels": selector}, as_map(pod_metadata(w)[1].get("labels")))
    ]


def _namespace(obj: Mapping[str, Any]) -> str:
    return str(as_map(obj.get("metadata")).get("namespace") or "")


def _service_selector(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    spec = as_map(obj.get("spec"))
    if obj.get("kind") != "Service" or spec.get("type") == "ExternalName":
        return None
    selector = as_map(spec.get("selector"))
    return selector or None


def check_service_selector(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """A Service that selects none of the pods of the workloads checked with it."""
    selector = _service_selector(obj)
    if selector is None:
        return
    count = ctx.workloads.per_namespace.get(_namespace(obj), 0)
    if count and not _selected(ctx, _namespace(obj), selector):
        shown = ", ".join(f"{k}={v}" for k, v in selector.items())
        yield Hit(
            ("spec", "selector"),
            f"selector {shown} matches no pod template of the {count} workloads checked in this namespace",
            hint="make the selector equal to the pod template labels of the workload it fronts",
        )


def check_service_target_port(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """A Service port whose targetPort no container of the selected pods exposes."""
    selector = _service_selector(obj)
    if selector is None:
        return
    selected = _selected(ctx, _namespace(obj), selector)
    if not selected:
        return
    names: set[str] = set()
    for workload in selected:
        found = pod_spec(workload)
        for c in containers(*found) if found else ():
            for port in as_list(c.c.get("ports")):
                port = as_map(port)
                if port.get("name"):
                    names.add(str(port["name"]))
    targets = " and ".join(ref(w) for w in selected[:2])
    for index, port in enumerate(as_list(as_map(obj.get("spec")).get("ports"))):
        port = as_map(port)
        target = port.get("targetPort", port.get("port"))
        field = "targetPort" if "targetPort" in port else "port"
        if isinstance(target, str) and not target.isdigit() and target not in names:
            yield Hit(
                ("spec", "ports", index, field),
                f"targetPort {target!r} is not a port name of any container of {targets}"
                f"; found: {', '.join(sorted(names)) or 'no named ports'}",
                hint=did_you_mean(target, sorted(names)),
            )
        # A numeric targetPort that no container declares is fine: declaring ports is informational,
        # the process may listen on any port (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#ports).


# ---------------------------------------------------------------- pods

def check_port_clash(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """Two running containers of one pod listen on the same port (they share the network)."""
    if pod is None:
        return
    seen: dict[tuple[Any, str], str] = {}
    for c in pod.containers:
        if not c.long_running:
            continue
        mine: set[tuple[Any, str]] = set()
        for index, port in enumerate(as_list(c.c.get("ports"))):
            port = as_map(port)
            key = (port.get("containerPort"), str(port.get("protocol", "TCP")))
            if not isinstance(key[0], (int, str)) or key in mine:   # the schema reports other types
                continue
            mine.add(key)
            if key in seen:
                yield Hit(
                    (*c.path, "ports", index, "containerPort"),
                    f"containers {c.name!r} and {seen[key]!r} both listen on port {key[0]}/{key[1]}; a pod shares one "
                    f"network namespace",
                )
            else:
                seen[key] = c.name


def check_duplicate_names(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """Duplicate container, volume or port names in a pod, or port names in a Service."""
    if pod is not None:
        path, spec, all_containers = pod.spec_path, pod.spec, pod.containers
        yield from _duplicates("container name", [(c.c.get("name"), (*c.path, "name")) for c in all_containers])
        yield from _duplicates("volume name", [(as_map(v).get("name"), (*path, "volumes", i, "name"))
                                               for i, v in enumerate(as_list(spec.get("volumes")))])
        yield from _duplicates("port name", [(as_map(p).get("name"), (*c.path, "ports", i, "name"))
                                             for c in all_containers if c.long_running
                                             for i, p in enumerate(as_list(c.c.get("ports")))])
    if obj.get("kind") == "Service":
        yield from _duplicates("port name", [(as_map(p).get("name"), ("spec", "ports", i, "name"))
                                             for i, p in enumerate(as_list(as_map(obj.get("spec")).get("ports")))])


def _duplicates(what: str, items: list[tuple[Any, Path]]) -> Iterator[Hit]:
    first: dict[Any, Path] = {}
    for name, path in items:
        if not isinstance(name, (str, int)):   # absent, or a type the schema check already reports
            continue
        if name in first:
            yield Hit(path, f"{what} {name!r} is used twice; first at {format_path(first[name])}")
        else:
            first[name] = path


def check_mount_without_volume(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """A volumeMount naming a volume the pod does not define."""
    if pod is None:
        return
    path, spec = pod.spec_path, pod.spec
    # A StatefulSet's volumeClaimTemplates become volumes of each of its pods:
    # https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#volume-claim-templates
    claims = [
        as_map(as_map(t).get("metadata")).get("name")
        for t in as_list(as_map(obj.get("spec")).get("volumeClaimTemplates"))
    ]
    volumes = sorted(
        {*(str(as_map(v).get("name")) for v in as_list(spec.get("volumes"))), *(str(c) for c in claims if c)}
    )
    for c in pod.containers:
        for index, mount in enumerate(as_list(c.c.get("volumeMounts"))):
            name = as_map(mount).get("name")
            if name is not None and str(name) not in volumes:
                yield Hit(
                    (*c.path, "volumeMounts", index, "name"),
                    f"container {c.name!r} mounts volume {name!r}, which the pod does not define; volumes: "
                    f"{', '.join(volumes) or 'none'}",
                    hint=did_you_mean(str(name), volumes)
                    or f"add a volume named {name!r} to {format_path((*path, 'volumes'))}",
                )
