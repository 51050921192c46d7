"""Mirroring a Secret into other namespaces (seed 003): ``mirror: {namespaces: [regex, ...]}`` handed to its engine.

The engine is the Secret's ``mirror.engine``, else the Project's ``spec.secrets.mirror.engine``,
else ``render`` (copies made now, into the namespaces of this render). The engines are the
registry :data:`~manifestkit.secrets.mirror_engines.ENGINES`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean, gather, one_of
from manifestkit.model import RenderContext, Resource
from manifestkit.secrets.jobs import located
from manifestkit.secrets.mirror_engines import ENGINES

DEFAULT_ENGINE = "render"


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


def engine_of(resource: Resource, default: str) -> str:
    spec: Mapping[str, Any] = resource.mirror or {}
    engine = str(spec.get("engine") or default)
    if engine not in ENGINES:
        raise ManifestkitError([Diagnostic(
            message=f"{resource.ref()}: mirror: unknown engine {engine!r}; expected one of: {one_of(ENGINES)}",
            hint=did_you_mean(engine, list(ENGINES)), **located(resource))])
    return engine


def mirrored(resource: Resource, namespaces: Sequence[str], default: str = DEFAULT_ENGINE) -> list[Resource]:
    """The Secret (unless its data lives only in the cluster or Vault) and what its engine adds."""
    spec: Mapping[str, Any] = resource.mirror or {}
    return ENGINES[engine_of(resource, default)](resource, spec, namespaces)


def mirror_secrets(resources: Sequence[Resource], ctx: RenderContext) -> list[Resource]:
    """Every Secret that asks to be mirrored, with its copies or engine objects; other resources unchanged."""
    namespaces = project_namespaces(ctx)
    default = str(((ctx.project.spec.get("secrets") or {}).get("mirror") or {}).get("engine") or DEFAULT_ENGINE)
    return gather(resources, lambda r: mirrored(r, namespaces, default) if r.kind == "Secret" and r.mirror
                  else [r])
