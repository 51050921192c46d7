"""Overlays that cannot silently miss: an overlay entry naming an app, container, ConfigMap, Secret, pattern or
mirror the target does not have is an error, unless the entry says it adds something new.

A new container says so with an ``image`` (or ``$patch: add``), a new ConfigMap, Secret, pattern or mirror with
``$patch: add``; ``all:`` and ``defaults:`` stay wildcards and are not checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from manifestkit.diagnostics import Diagnostic, did_you_mean
from manifestkit.model import Overlay

ADD = "add"
PATCH = "$patch"
_NAMED_LISTS = {"containers": "name", "initContainers": "name", "patterns": "use", "mirrors": "name"}
_NAMED_MAPS = ("configMaps", "secrets")
_NOUNS = {"containers": "container", "initContainers": "init container", "patterns": "pattern",
          "configMaps": "ConfigMap", "secrets": "Secret", "mirrors": "mirror"}


def unknown_apps(overlay: Overlay, names: Sequence[str]) -> list[Diagnostic]:
    """Every `apps:` key of the overlay that names no app of the project."""
    return [overlay.doc.diagnostic(("spec", "apps", name),
                                   f"overlay entry for app {name!r}, which the project does not have; "
                                   f"expected one of: {', '.join(sorted(names))}", hint=_hint(name, names, "app"))
            for name in overlay.spec.get("apps", {}) if name not in names]


def unknown_config_maps(overlay: Overlay, specs: Sequence[Mapping[str, Any]]) -> list[Diagnostic]:
    """Every top-level `configMaps:` key that names a ConfigMap of no app."""
    known = sorted({name for spec in specs for name in spec.get("configMaps") or {}})
    return [overlay.doc.diagnostic(("spec", "configMaps", name),
                                   f"overlay entry for ConfigMap {name!r}, which no app has; expected one of: "
                                   f"{', '.join(known) or '(none)'}", hint=_hint(name, known, "ConfigMap"))
            for name in overlay.spec.get("configMaps", {}) if name not in known]


def app_misses(overlay: Overlay, app: str, spec: Mapping[str, Any], patch: Mapping[str, Any]) -> list[Diagnostic]:
    """Every entry of the overlay's `apps.<app>` that names something the App spec does not have."""
    return list(_misses(overlay, ("spec", "apps", app), app, spec, patch))


def replicas_beside_autoscaling(overlay: Overlay, app: str, spec: Mapping[str, Any]) -> list[Diagnostic]:
    """An overlay's `replicas` for an app whose replicas a HorizontalPodAutoscaler owns."""
    if not spec.get("autoscaling"):
        return []
    where: list[tuple[str, ...]] = (
        [("spec", "apps", app, "replicas")] if "replicas" in overlay.spec.get("apps", {}).get(app, {}) else []
    )
    where += [("spec", key) for key in ("replicas", "minReplicas") if key in overlay.spec]
    return [overlay.doc.diagnostic(path, f"overlay sets replicas of app {app!r}, which has `autoscaling`",
                                   hint=f"set `apps.{app}.autoscaling.minReplicas`/`maxReplicas` instead")
            for path in where]


def _misses(overlay: Overlay, where: tuple[str | int, ...], app: str, spec: Mapping[str, Any],
            patch: Mapping[str, Any]) -> Iterator[Diagnostic]:
    for key, field in _NAMED_LISTS.items():
        items = patch.get(key)
        if not isinstance(items, list):
            continue
        known = [str(item.get(field)) for item in spec.get(key) or [] if isinstance(item, Mapping)]
        for i, item in enumerate(items):
            name = item.get(field) if isinstance(item, Mapping) else None
            if not isinstance(name, str) or name == "*" or name in known or _adds(key, item):
                continue
            yield overlay.doc.diagnostic((*where, key, i, field), _message(key, name, app, known),
                                         hint=_hint(name, known, _NOUNS[key], key))
    for key in _NAMED_MAPS:
        entries = patch.get(key)
        if not isinstance(entries, Mapping):
            continue
        known = sorted(spec.get(key) or {})
        for name, entry in entries.items():
            if name in known or (isinstance(entry, Mapping) and entry.get(PATCH) == ADD):
                continue
            yield overlay.doc.diagnostic((*where, key, name), _message(key, name, app, known),
                                         hint=_hint(name, known, _NOUNS[key], key))


def _adds(key: str, item: Mapping[str, Any]) -> bool:
    return item.get(PATCH) == ADD or (key in ("containers", "initContainers") and "image" in item
                                      and item.get(PATCH) != "delete")


def _message(key: str, name: str, app: str, known: Sequence[str]) -> str:
    return (f"overlay entry for {_NOUNS[key]} {name!r}, which app {app!r} does not have; "
            f"expected one of: {', '.join(known) or '(none)'}")


def _hint(name: str, known: Sequence[str], noun: str, key: str = "") -> str:
    close = did_you_mean(name, known)
    if close or not key:
        return close
    new = "give it an `image`, or `$patch: add`" if key in ("containers", "initContainers") else "add `$patch: add`"
    return f"to add a new {noun}, {new}"


def without_markers(patch: Mapping[str, Any]) -> dict[str, Any]:
    """The patch without its ``$patch: add`` markers (they only silence the checks above)."""
    out = dict(patch)
    for key in _NAMED_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_unmarked(item) for item in out[key]]
    for key in _NAMED_MAPS:
        if isinstance(out.get(key), Mapping):
            out[key] = {name: _unmarked(entry) for name, entry in out[key].items()}
    return out


def _unmarked(item: Any) -> Any:
    if isinstance(item, Mapping) and item.get(PATCH) == ADD:
        return {k: v for k, v in item.items() if k != PATCH}
    return item
