"""Small builders shared by the built-in patterns: the app container, ConfigMaps, labels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manifestkit.patterns.model import Obj, PatternError, PatternInput


# Helpers never need more rights than they are given; only init/sysctl is privileged.
def no_escalation() -> Obj:
    return {"allowPrivilegeEscalation": False}


def app_container(inp: PatternInput, key: str = "container") -> Obj:
    """The container named by ``with.<key>``, or the pod's first container."""
    containers: list[Obj] = list(inp.pod.get("spec", {}).get("containers") or [])
    wanted = inp.params.get(key)
    if wanted is None:
        if not containers:
            raise PatternError("the pod has no containers")
        return containers[0]
    for container in containers:
        if container.get("name") == wanted:
            return container
    names = ", ".join(str(c.get("name")) for c in containers)
    raise PatternError(f"container {wanted!r} not found; expected one of: {names}", (key,))


def pod_volume(inp: PatternInput, name: str, key: str) -> Obj:
    """The pod volume called ``name`` (named by ``with.<key>``)."""
    volumes: list[Obj] = list(inp.pod.get("spec", {}).get("volumes") or [])
    for volume in volumes:
        if volume.get("name") == name:
            return volume
    names = ", ".join(str(v.get("name")) for v in volumes)
    expected = f"expected one of: {names}" if names else "the pod has no volumes"
    raise PatternError(f"volume {name!r} not found in the pod; {expected}", (key,))


def first_port(container: Mapping[str, Any]) -> int | None:
    """The container's first declared port, None when it declares none; a PatternError when it is not a number."""
    ports = container.get("ports") or []
    if not ports:
        return None
    number = ports[0].get("containerPort") if isinstance(ports[0], Mapping) else None
    if not isinstance(number, int) or isinstance(number, bool):
        raise PatternError(f"container {container.get('name')!r} declares containers[].ports[0].containerPort "
                           f"{number!r}; expected an integer port number")
    return number


def config_map(inp: PatternInput, suffix: str, data: Mapping[str, str]) -> Obj:
    """A ConfigMap ``<workload>-<suffix>`` beside the workload, labelled like its pods."""
    metadata: Obj = {"name": f"{inp.name}-{suffix}"}
    if inp.namespace:
        metadata["namespace"] = inp.namespace
    labels = {k: v for k, v in (inp.pod.get("metadata", {}).get("labels") or {}).items()
              if k.startswith("app.kubernetes.io/")}
    if labels:
        metadata["labels"] = labels
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": {key: text.rstrip("\n") + "\n" for key, text in data.items()},
    }


def mount(volume: str, path: str, read_only: bool = False) -> Obj:
    out: Obj = {"name": volume, "mountPath": path}
    if read_only:
        out["readOnly"] = True
    return out
