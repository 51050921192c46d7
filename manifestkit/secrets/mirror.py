"""Mirroring a Secret into other namespaces (seed 003, like SecretMirror or Reflector, but at
render time): ``mirror: {namespaces: [regex, ...]}`` copies the Secret into every namespace
of the project whose whole name matches one of the expressions."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError, gather
from manifestkit.model import RenderContext, Resource


def project_namespaces(ctx: RenderContext) -> list[str]:
    """Namespaces of this render's apps, Project ``spec.namespaces`` and the environment's ``namespaces``."""
    names = {app.namespace for app in ctx.apps.values() if app.namespace}
    names.update(str(n) for n in ctx.project.spec.get("namespaces") or [])
    environment = ctx.project.environments.get(ctx.env)
    if environment is not None:
        names.update(environment.namespaces)
    if ctx.settings.namespace:
        names.add(ctx.settings.namespace)
    return sorted(names)


def matching(patterns: Sequence[str], namespaces: Iterable[str]) -> list[str]:
    """The namespaces whose whole name matches one of ``patterns`` (re.fullmatch)."""
    compiled = [re.compile(p) for p in patterns]
    return sorted(ns for ns in namespaces if any(c.fullmatch(ns) for c in compiled))


def _copy(resource: Resource, namespace: str) -> Resource:
    meta = {**resource.obj.get("metadata", {}), "namespace": namespace}
    return dataclasses.replace(resource, obj={**resource.obj, "metadata": meta}, mirror=None)


def _bad_pattern(resource: Resource, pattern: str, exc: re.error) -> Diagnostic:
    return Diagnostic(message=f"{resource.ref()}: mirror.namespaces: {pattern!r} is not a regular expression ({exc})",
                      file=resource.source.file, line=resource.source.line)


def mirrored(resource: Resource, namespaces: Sequence[str]) -> list[Resource]:
    """The Secret itself (without its mirror setting) and one copy per other matching namespace."""
    spec: Mapping[str, Any] = resource.mirror or {}
    patterns = [str(p) for p in spec.get("namespaces") or []]
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ManifestkitError([_bad_pattern(resource, pattern, exc)]) from None
    own = _copy(resource, resource.namespace) if resource.namespace else \
        dataclasses.replace(resource, mirror=None)
    copies = [_copy(resource, ns) for ns in matching(patterns, namespaces) if ns != resource.namespace]
    return [own, *copies]


def mirror_secrets(resources: Sequence[Resource], ctx: RenderContext) -> list[Resource]:
    """Every Secret that asks to be mirrored, with its copies; other resources unchanged."""
    namespaces = project_namespaces(ctx)
    return gather(resources, lambda r: mirrored(r, namespaces) if r.kind == "Secret" and r.mirror else [r])
