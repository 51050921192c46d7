"""The overlay step: an environment's overlays applied to every App spec.

Pure: App specs in, App specs out, plus the environment-wide settings (namespace,
labels, PodDisruptionBudget) that the build step applies to objects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from manifestkit.base import seed_from_base
from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.kinds import is_replicated
from manifestkit.merge import merge, merge_under
from manifestkit.model import App, Environment, EnvSettings, Overlay
from manifestkit.overlay_checks import (
    app_misses,
    replicas_beside_autoscaling,
    unknown_apps,
    unknown_config_maps,
    without_markers,
)

_CONTAINER_LISTS = ("containers", "initContainers")


def normalize_env(env: Any) -> Any:
    """``env`` as Kubernetes' list; a map ``NAME: value`` keeps its order, values become strings."""
    if isinstance(env, Mapping):
        return [{"name": k, "value": _env_value(v)} for k, v in env.items()]
    return env


def _env_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, str):
        return value
    return str(value)


def normalize_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """An App spec (or partial one) with every container's ``env`` in list form."""
    out = dict(spec)
    for key in _CONTAINER_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_normalize_container(c) for c in out[key]]
    return out


def _normalize_container(container: Any) -> Any:
    if isinstance(container, Mapping) and "env" in container and container["env"] is not None:
        return {**container, "env": normalize_env(container["env"])}
    return container


def settings_of(environment: Environment | None) -> EnvSettings:
    settings = EnvSettings()
    for overlay in environment.overlays if environment else ():
        spec = overlay.spec
        settings = dataclasses.replace(
            settings,
            namespace=spec.get("namespace", settings.namespace),
            labels={**settings.labels, **spec.get("labels", {})},
            annotations={**settings.annotations, **spec.get("annotations", {})},
            pdb=spec["podDisruptionBudget"] if "podDisruptionBudget" in spec else settings.pdb,
            secret_output=spec.get("secrets", {}).get("output", settings.secret_output),
            images=(*settings.images, *spec.get("images", [])),
            patches=(*settings.patches, *((overlay, i) for i in range(len(spec.get("patches", []))))),
        )
    return settings


def apply_overlays(apps: tuple[App, ...], environment: Environment | None) -> dict[str, App]:
    """Every app with the environment's overlays applied, in overlay order; an overlay entry that
    names something no app has is an error (all of them reported together)."""
    specs: dict[str, dict[str, Any]] = {}
    for app in apps:
        spec: dict[str, Any] = normalize_spec(app.spec)
        specs[app.name] = seed_from_base(dataclasses.replace(app, spec=spec)) if app.base else spec
    problems: list[Diagnostic] = []
    for overlay in environment.overlays if environment else ():
        problems.extend(unknown_apps(overlay, list(specs)))
        problems.extend(unknown_config_maps(overlay, list(specs.values())))
        for name in specs:
            specs[name] = apply_overlay(specs[name], name, overlay, problems)
    if problems:
        raise ManifestkitError(problems)
    out: dict[str, App] = {}
    for app in apps:
        namespace = app.namespace
        for overlay in environment.overlays if environment else ():
            namespace = overlay.spec.get("namespace", namespace)
        out[app.name] = dataclasses.replace(app, spec=specs[app.name], namespace=namespace)
    return out


def apply_overlay(spec: dict[str, Any], app_name: str, overlay: Overlay,
                  problems: list[Diagnostic] | None = None) -> dict[str, Any]:
    """One overlay on one App spec; what its `apps.<app_name>` entry misses is added to ``problems``."""
    o = overlay.spec
    if "defaults" in o:
        spec = merge_under(normalize_spec(o["defaults"]), spec)
    if "all" in o:
        spec = merge(spec, _expand(normalize_spec(o["all"]), spec))
    if app_name in o.get("apps", {}):
        if problems is not None:
            problems.extend(app_misses(overlay, app_name, spec, o["apps"][app_name]))
        spec = merge(spec, _expand(without_markers(normalize_spec(o["apps"][app_name])), spec))
    if problems is not None:
        problems.extend(replicas_beside_autoscaling(overlay, app_name, spec))
    if "replicas" in o and _replicated(spec) and not spec.get("autoscaling"):
        spec["replicas"] = o["replicas"]
    if "minReplicas" in o and _replicated(spec) and not spec.get("autoscaling"):
        # The larger value itself, not a new int: `manifestkit explain` follows it to the file that wrote it.
        chosen = max(spec.get("replicas", 1), o["minReplicas"], key=int)
        spec["replicas"] = chosen if isinstance(chosen, int) and not isinstance(chosen, bool) else int(chosen)
    if "env" in o or "resources" in o:
        every = {
            k: v for k, v in (("env", normalize_env(o.get("env"))), ("resources", o.get("resources"))) if v is not None
        }
        spec = merge(spec, _expand({"containers": [{"name": "*", **every}]}, spec))
    if "configMaps" in o:
        mine = {k: v for k, v in o["configMaps"].items() if k in spec.get("configMaps", {})}
        spec = merge(spec, {"configMaps": mine})
    return spec


def _replicated(spec: Mapping[str, Any]) -> bool:
    return is_replicated(spec.get("workload", "Deployment"))


def _expand(patch: dict[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """Wildcard containers ("*") become one patch per container the spec has."""
    out = dict(patch)
    for key in _CONTAINER_LISTS:
        items = patch.get(key)
        if not isinstance(items, list):
            continue
        expanded: list[Any] = []
        for item in items:
            if isinstance(item, Mapping) and item.get("name") == "*":
                rest = {k: v for k, v in item.items() if k != "name"}
                expanded.extend(
                    {"name": c["name"], **rest} for c in spec.get(key, []) if isinstance(c, Mapping) and "name" in c
                )
            else:
                expanded.append(item)
        out[key] = expanded
    return out
