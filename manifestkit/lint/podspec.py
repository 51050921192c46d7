"""Plain-dict accessors the lint rules share: an object's pod spec and containers with
their YAML paths (where each kind keeps them is in ``manifestkit.kinds``), and safe views
of values that may be malformed (lint also runs on objects with schema errors, so
nothing may be trusted).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from manifestkit import kinds

Path = tuple[str | int, ...]


class Container(NamedTuple):
    """One container of a pod spec and where it is written."""

    c: Mapping[str, Any]
    path: Path
    init: bool                 # listed under initContainers
    native_sidecar: bool       # an init container with restartPolicy: Always (Kubernetes 1.29+)

    @property
    def name(self) -> str:
        return str(self.c.get("name", ""))

    @property
    def long_running(self) -> bool:
        return not self.init or self.native_sidecar


@dataclass(frozen=True, slots=True, kw_only=True)
class Pod:
    """An object's pod spec, its containers and its template's metadata, with their paths: worked
    out once per object for all the rules (:func:`pod_of`)."""

    spec_path: Path
    spec: Mapping[str, Any]
    containers: tuple[Container, ...]    # init containers first, as :func:`containers` yields them
    meta_path: Path
    meta: Mapping[str, Any]


def pod_of(obj: Mapping[str, Any]) -> Pod | None:
    """The pod of a workload or Pod, or None when ``obj`` has no pod spec (a map)."""
    found = pod_spec(obj)
    if found is None:
        return None
    meta_path, meta = pod_metadata(obj)
    return Pod(spec_path=found[0], spec=found[1], containers=tuple(containers(*found)), meta_path=meta_path,
               meta=meta)


def as_map(value: Any) -> Mapping[str, Any]:
    return value if type(value) is dict or isinstance(value, Mapping) else {}   # the exact type first: cheaper


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def dig(obj: Any, path: Path) -> Any:
    for part in path:
        if isinstance(part, int):
            obj = obj[part] if isinstance(obj, list) and -len(obj) <= part < len(obj) else None
        else:
            obj = obj.get(part) if type(obj) is dict or isinstance(obj, Mapping) else None
    return obj


def ref(obj: Mapping[str, Any]) -> str:
    """``Kind/namespace/name`` (namespace left out when not set)."""
    meta = as_map(obj.get("metadata"))
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind', '?')}/{ns}{meta.get('name', '?')}"


def pod_spec_path(obj: Mapping[str, Any]) -> Path | None:
    path = kinds.pod_spec_path(obj.get("kind"))
    return path if path is not None and isinstance(dig(obj, path), Mapping) else None


def pod_spec(obj: Mapping[str, Any]) -> tuple[Path, Mapping[str, Any]] | None:
    path = kinds.pod_spec_path(obj.get("kind"))
    spec = None if path is None else dig(obj, path)
    return (path, spec) if path is not None and isinstance(spec, Mapping) else None


def pod_metadata(obj: Mapping[str, Any]) -> tuple[Path, Mapping[str, Any]]:
    """The pod template's metadata (the object's own for a Pod)."""
    spec_path = kinds.pod_spec_path(obj.get("kind")) or ("spec",)
    path = (*spec_path[:-1], "metadata")
    return path, as_map(dig(obj, path))


def containers(spec_path: Path, spec: Mapping[str, Any]) -> Iterator[Container]:
    """Init containers first (they start first), then the app containers."""
    for key, index, c in kinds.containers(spec):
        yield Container(c, (*spec_path, key, index), key == "initContainers", kinds.is_native_sidecar(key, c))


def pod_annotations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """The object's annotations merged with its pod template's (the template wins)."""
    own = as_map(as_map(obj.get("metadata")).get("annotations"))
    if not kinds.template_path(obj.get("kind")):   # a Pod is its own template
        return own
    return {**own, **as_map(pod_metadata(obj)[1].get("annotations"))}


def command_text(c: Mapping[str, Any]) -> str:
    """A container's command and args as one shell-like string."""
    return " ".join(str(part) for part in [*as_list(c.get("command")), *as_list(c.get("args"))])


def image_name(c: Mapping[str, Any]) -> str:
    """The image's repository without registry, tag or digest: ``hashicorp/vault``."""
    image = str(c.get("image", "")).split("@", 1)[0]
    last = image.rsplit("/", 1)
    if ":" in last[-1]:
        image = image.rsplit(":", 1)[0]
    parts = image.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    return "/".join(parts).lower()
