"""The overlays' container defaults for the containers patterns add: ``builtin:production``'s ``name: "*"`` reaches
every container, not only the App's own.

Overlays are applied to App specs before patterns run, so a container a pattern adds (a
``sidecar/log-tailer``, the Vault agents) never met the environment's ``defaults``. This
step merges the ``defaults.containers[name: "*"]`` entries of the environment's overlays
under every such container (its own values win), skipping what Kubernetes refuses on a
privileged container (``allowPrivilegeEscalation: false``):
https://kubernetes.io/docs/concepts/security/pod-security-standards/
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manifestkit.kinds import CONTAINER_LISTS, pod_template, with_pod_template
from manifestkit.merge import merge
from manifestkit.model import RenderContext, Resource


def wildcard_defaults(ctx: RenderContext) -> dict[str, Any]:
    """The merged ``defaults.containers[name: "*"]`` of the environment's overlays, in order."""
    environment = ctx.project.environments.get(ctx.env)
    out: dict[str, Any] = {}
    for overlay in environment.overlays if environment else ():
        for item in (overlay.spec.get("defaults") or {}).get("containers") or []:
            if isinstance(item, Mapping) and item.get("name") == "*":
                out = merge(out, {k: v for k, v in item.items() if k != "name"})
    return out


def _defaulted(container: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    context = container.get("securityContext") or {}
    if context.get("privileged"):
        security = {k: v for k, v in (defaults.get("securityContext") or {}).items() if k != "allowPrivilegeEscalation"}
        defaults = {**defaults, "securityContext": security}
    merged: dict[str, Any] = merge(defaults, container)
    return {**{k: merged[k] for k in container}, **{k: v for k, v in merged.items() if k not in container}}


def _own_names(ctx: RenderContext, app: str | None) -> set[str]:
    spec = ctx.apps[app].spec if app is not None and app in ctx.apps else {}
    return {str(c.get("name")) for key in ("containers", "initContainers") for c in spec.get(key) or []
            if isinstance(c, Mapping)}


def default_pattern_containers(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    """Pipeline step: see the module docstring."""
    defaults = wildcard_defaults(ctx)
    if not defaults:
        return resources
    out = []
    for resource in resources:
        template = pod_template(resource.obj)
        if template is None or resource.app not in ctx.apps:
            out.append(resource)
            continue
        own = _own_names(ctx, resource.app)
        spec = dict(template.get("spec") or {})
        for field in CONTAINER_LISTS:
            if field in spec:
                spec[field] = [c if c.get("name") in own else _defaulted(c, defaults) for c in spec[field]]
        out.append(resource.replace_obj(with_pod_template(resource.obj, {**template, "spec": spec})))
    return out
