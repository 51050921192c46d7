"""`--format plain`: one file per object, ``<env>/<namespace>/<kind>-<name>.yaml``."""

from __future__ import annotations

from collections.abc import Iterable

from manifestkit.emit import EmitInput, Emitted
from manifestkit.model import Resource
from manifestkit.writer import OutFile
from manifestkit.yaml_dump import dump, k8s_order

CLUSTER_DIR = "_cluster"
SECRET_MODE = 0o600
SECRET_KINDS = frozenset({"Secret"})


def object_path(resource: Resource) -> str:
    return f"{resource.namespace or CLUSTER_DIR}/{resource.kind.lower()}-{resource.name}.yaml"


def object_file(resource: Resource) -> OutFile:
    mode = SECRET_MODE if resource.kind in SECRET_KINDS else 0o644
    return OutFile(dump(k8s_order(resource.obj)).encode("utf-8"), mode)


def stream(resources: Iterable[Resource]) -> str:
    """All objects as one multi-document YAML stream."""
    return "---\n".join(dump(k8s_order(r.obj)) for r in resources)


def emit_plain(job: EmitInput) -> Emitted:
    files = {f"{env}/{object_path(r)}": object_file(r) for env, resources in job.renders.items() for r in resources}
    return Emitted(files=files, scope=sorted(job.renders))
