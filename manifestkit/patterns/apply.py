"""THE merge of a pattern's output into a pod template and its Service.

Every conflict rule of the patterns lives here, and every message names both sides:
container, volume and port names used twice, two containers listening on one port (a
pod has one network namespace), two mounts on one path in one container, a Service port
that clashes with an existing one, probes on init containers that are not native sidecars.
Nothing is mutated: new dicts are built along the paths that change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from manifestkit.kinds import (
    APP_CONTAINERS,
    CONTAINER_LISTS,
    EPHEMERAL_CONTAINERS,
    INIT_CONTAINERS,
    PROBES,
    containers,
    is_native_sidecar,
)
from manifestkit.patterns.model import Obj, PatternOutput


class Merged(NamedTuple):
    pod: Obj
    service: Obj | None
    owners: Mapping[str, str]      # container name -> the pattern that added it
    conflicts: tuple[str, ...] = ()    # one message per clash, naming both sides; empty when the merge is clean
    hidden: Mapping[int, str] = {}     # ports a proxy hid from the Service, still listened on -> their container


def merge(pod: Mapping[str, Any], service: Mapping[str, Any] | None, out: PatternOutput, who: str,
          owners: Mapping[str, str] = {}, *, claims: Iterable[str] = (), hidden: Mapping[int, str] = {}) -> Merged:
    """``pod`` (a template: metadata + spec) and ``service`` with ``out`` of pattern ``who`` merged in,
    and every clash found on the way; the caller decides what a clash means.

    ``claims`` are the names of a StatefulSet's volumeClaimTemplates, which containers mount
    like volumes; ``hidden`` are ports an earlier proxy hid (still taken in the pod)."""
    problems: list[str] = []
    original = dict(pod.get("spec", {}))
    _check_port_numbers(original, out, who, problems)
    if problems:
        return Merged(dict(pod), dict(service) if service is not None else None, owners, tuple(problems), hidden)
    private_names = {p["name"] for c in _all_containers(original) for p in _ports(c)
                     if p.get("containerPort") in out.private_ports and "name" in p}
    now_hidden = {**hidden, **{p["containerPort"]: c["name"] for c in running(original) for p in _ports(c)
                               if p.get("containerPort") in out.private_ports}}
    spec = _hide_ports(original, out.private_ports)
    spec, new_owners = _add_containers(spec, out, who, owners, problems, hidden)
    spec = _add_volumes(spec, out.volumes, who, problems)
    spec = _add_mounts(spec, out.mounts, who, owners, problems)
    _check_mounts(spec, problems, frozenset(claims))
    spec = _set_pod_fields(spec, out.pod_fields, who, problems)
    metadata = _add_annotations(dict(pod.get("metadata", {})), out.annotations, who, problems)
    problems.extend(check_init_probes({"initContainers": list(out.init_containers)}, new_owners))
    new_service = _merge_service(service, {*out.private_ports, *private_names}, out, who, problems)
    return Merged({**pod, "metadata": metadata, "spec": spec}, new_service, new_owners, tuple(problems), now_hidden)


def _check_port_numbers(spec: Mapping[str, Any], out: PatternOutput, who: str, problems: list[str]) -> None:
    """A containerPort must be an integer (1-65535); a templated or quoted one cannot be compared."""
    for key, _, c in containers(spec, (*CONTAINER_LISTS, EPHEMERAL_CONTAINERS)):
        for index, port in enumerate(_ports(c)):
            number = port.get("containerPort") if isinstance(port, Mapping) else None
            if not isinstance(number, int) or isinstance(number, bool):
                problems.append(f"{who}: container {c.get('name')!r} declares {key}[].ports[{index}].containerPort "
                                f"{number!r}; expected an integer port number")


def describe(name: str, owners: Mapping[str, str]) -> str:
    """``container 'envoy' (added by sidecar/envoy)`` or ``container 'web'``."""
    return f"container {name!r}" + (f" (added by {owners[name]})" if name in owners else "")


def running(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Containers that run beside each other: native sidecars and app containers."""
    for key, _, container in containers(spec):
        if key == APP_CONTAINERS or is_native_sidecar(key, container):
            yield container


def _all_containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for _, _, container in containers(spec, (*CONTAINER_LISTS, EPHEMERAL_CONTAINERS)):
        yield container


# ---------------------------------------------------------------- containers


def _add_containers(spec: Obj, out: PatternOutput, who: str, owners: Mapping[str, str],
                    problems: list[str], hidden: Mapping[int, str]) -> tuple[Obj, dict[str, str]]:
    new_owners = dict(owners)
    for key, added in (("initContainers", out.init_containers), ("containers", out.containers)):
        for container in added:
            _check_container(spec, container, key == "containers", who, new_owners, problems, hidden)
            spec = {**spec, key: [*(spec.get(key) or []), container]}
            new_owners[container["name"]] = who
    return spec, new_owners


def _check_container(spec: Mapping[str, Any], new: Mapping[str, Any], in_containers: bool, who: str,
                     owners: Mapping[str, str], problems: list[str], hidden: Mapping[int, str] = {}) -> None:
    name = new["name"]
    if any(c.get("name") == name for c in _all_containers(spec)):
        problems.append(f"{who} adds container {name!r}, but the pod already has {describe(name, owners)}")
    # Plain init containers run one by one before the app: only running ones can clash on a port.
    runs = in_containers or new.get("restartPolicy") == "Always"
    _check_ports(spec, new, runs, who, owners, problems, hidden)
    _check_own_mounts(new, who, problems)


def check_init_probes(spec: Mapping[str, Any], owners: Mapping[str, str]) -> list[str]:
    """Init containers may not have probes unless they are native sidecars (restartPolicy: Always).

    https://kubernetes.io/docs/concepts/workloads/pods/init-containers/#differences-from-regular-containers
    """
    return [f"{describe(c['name'], owners)} is an init container with a {probe}, which Kubernetes allows only "
            "on native sidecars (restartPolicy: Always)"
            for key, _, c in containers(spec) if key == INIT_CONTAINERS and not is_native_sidecar(key, c)
            for probe in PROBES if probe in c]


def _ports(container: Mapping[str, Any]) -> Iterator[Obj]:
    yield from container.get("ports") or []


def _check_ports(spec: Mapping[str, Any], new: Mapping[str, Any], runs: bool, who: str, owners: Mapping[str, str],
                 problems: list[str], hidden: Mapping[int, str] = {}) -> None:
    # A port hidden behind a proxy is no longer declared, but its process still listens on it.
    listening = {
        **{(number, "TCP"): name for number, name in hidden.items()},
        **{(p["containerPort"], p.get("protocol", "TCP")): c["name"] for c in running(spec) for p in _ports(c)},
    }
    named = {p["name"]: c["name"] for c in _all_containers(spec) for p in _ports(c) if "name" in p}
    for port in _ports(new):
        key = (port["containerPort"], port.get("protocol", "TCP"))
        if runs and key in listening:
            other = listening[key]
            problems.append(f"{who}: container {new['name']!r} listens on port {key[0]}/{key[1]}, which "
                            f"{describe(other, owners)} already uses (containers of a pod share one network namespace)")
        if port.get("name") in named:
            other = named[port["name"]]
            problems.append(f"{who}: container {new['name']!r} names a port {port['name']!r}, which "
                            f"{describe(other, owners)} already names (port names must be unique in a pod)")


def _check_own_mounts(container: Mapping[str, Any], who: str, problems: list[str]) -> None:
    seen: dict[str, str] = {}
    for mount in container.get("volumeMounts") or []:
        path = mount["mountPath"]
        if path in seen:
            problems.append(f"{who}: container {container['name']!r} mounts both volume {seen[path]!r} "
                            f"and volume {mount['name']!r} on {path}")
        seen[path] = mount["name"]


# ---------------------------------------------------------------- volumes and mounts


def _add_volumes(spec: Obj, volumes: Iterable[Obj], who: str, problems: list[str]) -> Obj:
    existing = {v["name"]: v for v in spec.get("volumes") or []}
    added: list[Obj] = []
    for volume in volumes:
        same = existing.get(volume["name"])
        if same is None:
            added.append(volume)
            existing[volume["name"]] = volume
        elif same != volume:
            problems.append(f"{who} adds volume {volume['name']!r} as {_volume_source(volume)}, but the pod "
                            f"already has a volume {volume['name']!r} as {_volume_source(same)}")
    return {**spec, "volumes": [*(spec.get("volumes") or []), *added]} if added else spec


def _volume_source(volume: Mapping[str, Any]) -> str:
    kinds = [key for key in volume if key != "name"]
    return ", ".join(kinds) or "nothing"


def _add_mounts(spec: Obj, mounts: Mapping[str, tuple[Obj, ...]], who: str, owners: Mapping[str, str],
                problems: list[str]) -> Obj:
    for target, added in mounts.items():
        spec = _add_mounts_to(spec, target, added, who, owners, problems)
    return spec


def _add_mounts_to(spec: Obj, target: str, added: tuple[Obj, ...], who: str, owners: Mapping[str, str],
                   problems: list[str]) -> Obj:
    for key in ("containers", "initContainers"):
        containers = spec.get(key) or []
        for index, container in enumerate(containers):
            if container.get("name") != target:
                continue
            current = container.get("volumeMounts") or []
            paths = {m["mountPath"]: m["name"] for m in current}
            same = [m for m in added if m in current]    # identical to one the user declared: not a conflict
            added = tuple(m for m in added if m not in current)
            for mount in added:
                if mount["mountPath"] in paths:
                    problems.append(f"{who} mounts volume {mount['name']!r} on {mount['mountPath']} in "
                                    f"{describe(target, owners)}, which already mounts volume "
                                    f"{paths[mount['mountPath']]!r} there")
            if not added and same:
                return spec
            updated = {**container, "volumeMounts": [*current, *added]}
            return {**spec, key: [*containers[:index], updated, *containers[index + 1:]]}
    problems.append(f"{who} mounts into container {target!r}, but the pod has no such container")
    return spec


def _check_mounts(spec: Mapping[str, Any], problems: list[str], claims: frozenset[str] = frozenset()) -> None:
    # A StatefulSet's volumeClaimTemplates become volumes of each pod:
    # https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#volume-claim-templates
    volumes = {v["name"] for v in spec.get("volumes") or []} | claims
    for container in _all_containers(spec):
        for mount in container.get("volumeMounts") or []:
            if mount["name"] not in volumes:
                problems.append(f"container {container['name']!r} mounts volume {mount['name']!r}, "
                                "but the pod has no such volume")


# ---------------------------------------------------------------- pod fields and metadata


def _set_pod_fields(spec: Obj, fields: Mapping[str, Any], who: str, problems: list[str]) -> Obj:
    for key, value in fields.items():
        if key in spec and spec[key] != value:
            problems.append(f"{who} sets pod field {key} to {value!r}, but the pod already sets it to {spec[key]!r}")
    return {**spec, **fields}


def _add_annotations(metadata: Obj, annotations: Mapping[str, str], who: str, problems: list[str]) -> Obj:
    if not annotations:
        return metadata
    current = metadata.get("annotations") or {}
    for key, value in annotations.items():
        if key in current and current[key] != value:
            problems.append(
                f"{who} sets pod annotation {key}={value!r}, but the pod already has {key}={current[key]!r}"
            )
    return {**metadata, "annotations": {**current, **annotations}}


# ---------------------------------------------------------------- ports hidden behind a proxy, Service


def _hide_ports(spec: Obj, private: tuple[int, ...]) -> Obj:
    """Drop the declarations of ports that only a proxy in the pod may reach."""
    if not private:
        return spec
    containers = [_without_ports(c, private) for c in spec.get("containers") or []]
    return {**spec, "containers": containers}


def _without_ports(container: Obj, private: tuple[int, ...]) -> Obj:
    ports = [p for p in container.get("ports") or [] if p.get("containerPort") not in private]
    if len(ports) == len(container.get("ports") or []):
        return container
    return {key: value for key, value in container.items() if key != "ports"} | ({"ports": ports} if ports else {})


def _merge_service(service: Mapping[str, Any] | None, private: set[int | str], out: PatternOutput, who: str,
                   problems: list[str]) -> Obj | None:
    if service is None:
        return None
    ports: list[Obj] = list(service.get("spec", {}).get("ports") or [])
    if private:
        ports = [p for p in ports if p.get("targetPort", p.get("port")) not in private]
    numbers = {p["name"]: p.get("containerPort") for c in (*out.containers, *out.init_containers)
               for p in _ports(c) if "name" in p}
    for new in out.service_ports:
        target = new.get("targetPort", new["port"])
        aims = {target, numbers.get(target, target)}
        if any(old.get("targetPort", old.get("port")) in aims for old in ports):
            continue    # the Service already reaches the helper's port: reuse that port
        for old in ports:
            _check_service_port(old, new, who, problems)
        ports.append(new)
    return {**service, "spec": {**service.get("spec", {}), "ports": ports}}


def _check_service_port(old: Mapping[str, Any], new: Mapping[str, Any], who: str, problems: list[str]) -> None:
    protocol = new.get("protocol", "TCP")
    if "name" in new and old.get("name") == new["name"]:
        problems.append(f"{who} adds Service port {new['name']!r} ({new['port']}), but the Service already has "
                        f"a port named {old['name']!r} ({old.get('port')})")
    elif old.get("port") == new["port"] and old.get("protocol", "TCP") == protocol:
        problems.append(
            f"{who} adds Service port {new.get('name', new['port'])!r} on {new['port']}/{protocol}, "
            f"but the Service's port {old.get('name', old.get('port'))!r} already uses {old['port']}/{protocol}"
        )
