"""The schema step of a render: every object against the Kubernetes schema of the
project's `kubernetesVersion` (strict), before anything is written.

Each error names the object and the field path; all errors of all objects are reported
together and the render exits 1 with nothing written.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from manifestkit.custom_schemas import SchemaSet, load_schema_paths, with_crds
from manifestkit.diagnostics import Diagnostic, FindingsError, ManifestkitError
from manifestkit.kinds import pod_spec_path
from manifestkit.model import RenderContext, Resource
from manifestkit.package_data import data_dir
from manifestkit.schema_errors import check_object
from manifestkit.yamlio import format_path

# Custom resources manifestkit itself may emit and ships no schema for; ExternalSecret, (Cluster)SecretStore,
# SecretMirror and Kyverno's ClusterPolicy validate against the CRDs of schemas/crds/.
KNOWN_CUSTOM_KINDS = frozenset({"SealedSecret"})


def check_objects(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    """Every object against its schema: built-in kinds, the Project's `schemas:`, `--schemas` folders and
    the CRDs the project renders itself; a kind with no schema at all is bad input (exit 2)."""
    if not ctx.options.validate:
        return resources
    extra = schema_set(resources, ctx)
    skipped = {*ctx.options.skip_kinds, *ctx.project.spec.get("skipKinds", [])}
    missing: list[Diagnostic] = []
    problems: list[Diagnostic] = []
    for resource in resources:
        if resource.kind in skipped:
            continue
        errors = check_object(_without_sops_metadata(resource.obj), ctx.kube_version, strict=True, extra=extra)
        if errors is None:
            if resource.kind not in KNOWN_CUSTOM_KINDS:
                missing.append(_no_schema(resource, ctx))
            continue
        problems.extend(_diagnostic(resource, e.path, e.message, ctx) for e in errors)
    if missing:
        raise ManifestkitError([*missing, *problems])
    if problems:
        raise FindingsError(problems)
    return resources


def schema_set(resources: list[Resource], ctx: RenderContext) -> SchemaSet:
    """The custom resource schemas of a render: files and folders named by the Project and by
    ``--schemas``, plus every CRD among the rendered objects."""
    # The CRDs of what manifestkit itself emits (ExternalSecret, SecretStore, SecretMirror, ClusterPolicy) come
    # first; a project's own win.
    files = _loaded((data_dir("schemas") / "crds", *ctx.project.schemas,
                     *(Path(p).resolve() for p in ctx.options.schemas)))
    crds = [r.obj for r in resources if r.kind == "CustomResourceDefinition"]
    return with_crds(files, crds, ctx.project.file)


@functools.cache
def _loaded(paths: tuple[Path, ...]) -> SchemaSet:
    return load_schema_paths(paths)


def _no_schema(resource: Resource, ctx: RenderContext) -> Diagnostic:
    kind = resource.kind
    return resource.source.diagnostic(
        (),
        f"{resource.ref()}: no schema for {resource.obj.get('apiVersion')}/{kind} "
        f"(not a Kubernetes {ctx.kube_version} kind)",
        hint=f"add its CRD or JSON Schema to the Project's `schemas:` or pass --schemas DIR; "
        f"to accept it unchecked, list {kind} in `skipKinds:` or pass --skip-kinds {kind}",
    )


def _diagnostic(resource: Resource, path: tuple[str | int, ...], message: str,
                ctx: RenderContext | None = None) -> Diagnostic:
    """Located in the base manifest when the object came from one, else at the App field
    the value came from when it can be told (a container field), else at the App."""
    app = ctx.apps.get(resource.app) if ctx is not None and resource.app else None
    spec_path = _app_path(resource, path)
    if resource.source.document is None and app is not None and spec_path in app.doc.positions:
        line, column = app.doc.positions[spec_path]
        return Diagnostic(message=f"{resource.ref()}: {message}", file=app.file, line=line, column=column,
                          path=format_path(path))
    return resource.source.diagnostic(path, f"{resource.ref()}: {message}")


def _app_path(resource: Resource, path: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The App spec path a pod-spec field was written at: pod fields sit at App `spec` level."""
    prefix = pod_spec_path(resource.kind) or ("-", "spec")
    if path[: len(prefix)] == prefix:
        return ("spec", *path[len(prefix):])
    return ()


def _without_sops_metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """A sops-encrypted Secret carries a top-level `sops:` block that KSOPS/Flux strip
    before applying; the rest must still be a valid Secret."""
    if obj.get("kind") == "Secret" and "sops" in obj:
        return {k: v for k, v in obj.items() if k != "sops"}
    return obj
