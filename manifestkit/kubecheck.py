"""The validate step of a render: every object against the Kubernetes schema of the
project's `kubernetesVersion` (strict), before anything is written.

Each error names the object and the field path; all errors of all objects are reported
together and the render exits 1 with nothing written.
"""

from __future__ import annotations

from manifestkit.diagnostics import Diagnostic, FindingsError
from manifestkit.kubeschema import check_object
from manifestkit.model import RenderContext, Resource
from manifestkit.yamlio import format_path

# Custom resources manifestkit itself may emit; no schema ships for them.
KNOWN_CUSTOM_KINDS = frozenset({"ExternalSecret", "SecretStore", "ClusterSecretStore", "SealedSecret"})


def check_objects(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    if not ctx.options.validate:
        return resources
    problems: list[Diagnostic] = []
    for resource in resources:
        errors = check_object(resource.obj, ctx.kube_version, strict=True)
        if errors is None:
            if resource.kind not in KNOWN_CUSTOM_KINDS:
                problems.append(_diagnostic(resource, (), f"no Kubernetes {ctx.kube_version} schema for "
                                            f"{resource.obj.get('apiVersion')}/{resource.kind}"))
            continue
        problems.extend(_diagnostic(resource, e.path, e.message) for e in errors)
    if problems:
        raise FindingsError(problems)
    return resources


def _diagnostic(resource: Resource, path: tuple[str | int, ...], message: str) -> Diagnostic:
    """Located in the base manifest when the object came from one, else at the App."""
    if resource.doc is not None:
        line, column = resource.doc.position(path)
        return Diagnostic(f"{resource.ref()}: {message}", file=resource.doc.file, line=line, column=column,
                          path=format_path(path))
    file, _, line_text = resource.origin.rpartition(":")
    return Diagnostic(f"{resource.ref()}: {message}", file=file, line=int(line_text) if line_text.isdigit() else 0,
                      path=format_path(path))
