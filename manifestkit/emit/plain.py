"""`--format plain`: one file per object, ``<env>/<namespace>/<kind>-<name>.yaml``."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.emit import EmitInput, Emitted
from manifestkit.model import Resource
from manifestkit.writer import OutFile
from manifestkit.yaml_dump import dump, k8s_order

CLUSTER_DIR = "_cluster"
SECRET_MODE = 0o600
SECRET_KINDS = frozenset({"Secret"})

# What Kubernetes lets name an object, so a name can name a file and never a way out of the
# output folder: https://kubernetes.io/docs/concepts/overview/working-with-objects/names/
# Namespaces are RFC 1123 labels; kinds are CamelCase words (a CRD's kind, lowercased, is an
# RFC 1035 label); every object name is at least a path segment name: not '.' or '..', no '/' or '%'.
NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
KIND_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,62}")
NOT_IN_NAMES = re.compile(r"[/%\x00-\x1f\x7f]")


def object_path(resource: Resource) -> str:
    """``<namespace>/<kind>-<name>.yaml``, built only from names Kubernetes accepts."""
    kind, namespace, name = resource.kind, resource.namespace, resource.name
    path = _path_of(kind, namespace, name)
    if path is None:
        raise ManifestkitError([_name_problem(resource, field, f"found {value!r}; expected {rule}")
                                for field, value, rule in _bad_names(kind, namespace, name)])
    return path


@functools.lru_cache(maxsize=1 << 16)
def _path_of(kind: str, namespace: str, name: str) -> str | None:
    """The path of an object so named, None when a name is bad (a memo: a render asks for each path twice)."""
    if any(_bad_names(kind, namespace, name)):
        return None
    return f"{namespace or CLUSTER_DIR}/{kind.lower()}-{name}.yaml"


def _bad_names(kind: str, namespace: str, name: str) -> Iterator[tuple[str, str, str]]:
    if not KIND_NAME.fullmatch(kind):
        yield "kind", kind, "a Kubernetes kind: a letter, then letters and digits"
    if namespace and not NAMESPACE_NAME.fullmatch(namespace):
        yield ("metadata.namespace", namespace,
               "an RFC 1123 label: lowercase letters, digits and '-', at most 63 characters")
    if name in ("", ".", "..") or NOT_IN_NAMES.search(name):
        yield (
            "metadata.name",
            name,
            "a Kubernetes name: not '.' or '..', without '/', '%' or control characters",
        )


def _name_problem(resource: Resource, field: str, message: str) -> Diagnostic:
    """Located at the field in the base manifest when the object came from one, else where it was written."""
    return resource.source.diagnostic(field.split("."), f"{resource.ref()}: {message}")


def object_file(resource: Resource, data: bytes | None = None) -> OutFile:
    """The object's file, holding the object (for the render's lint) beside its bytes: the object as
    rendered, which is the one dumped but for the order of its top and metadata keys. ``data``: its bytes
    when already known (the render cache keeps them)."""
    mode = SECRET_MODE if resource.kind in SECRET_KINDS else 0o644
    return OutFile(dump(k8s_order(resource.obj)).encode("utf-8") if data is None else data, mode, (resource.obj,))


def stream_documents(resources: Iterable[Resource]) -> list[tuple[dict[str, Any], str]]:
    """The documents of :func:`stream`: each object as dumped, and its text."""
    return [(obj, dump(obj)) for obj in (k8s_order(r.obj) for r in resources)]


def stream(resources: Iterable[Resource]) -> str:
    """All objects as one multi-document YAML stream."""
    return join_stream(stream_documents(resources))


def join_stream(documents: Iterable[tuple[Any, str]]) -> str:
    """The stream of documents, separated by ``---`` lines."""
    return "---\n".join(text for _, text in documents)


def emit_plain(job: EmitInput) -> Emitted:
    kept = job.dumped
    files = {f"{env}/{object_path(r)}": object_file(r, kept.get((env, r.kind, r.namespace, r.name)) if kept else None)
             for env, resources in job.renders.items() for r in resources}
    return Emitted(files=files, scope=sorted(job.renders))
