"""The labels and metadata every object built from an App carries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manifestkit.model import MANAGED_BY, App, RenderContext


def text(value: Any) -> str:
    """A name as a string: the value itself when it is one already (`manifestkit explain` follows it to its file)."""
    return value if isinstance(value, str) else str(value)


def selector_labels(app: App) -> dict[str, str]:
    return {"app.kubernetes.io/name": app.name, "app.kubernetes.io/instance": app.name}


def common_labels(app: App, ctx: RenderContext) -> dict[str, str]:
    labels = {**selector_labels(app)}
    if "component" in app.spec:
        labels["app.kubernetes.io/component"] = app.spec["component"]
    labels["app.kubernetes.io/part-of"] = ctx.project.name
    labels["app.kubernetes.io/managed-by"] = MANAGED_BY
    return {**labels, **app.spec.get("labels", {}), **ctx.settings.labels}


def metadata(name: str, app: App, ctx: RenderContext, labels: Mapping[str, str],
             annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An object's metadata: its name, the App's namespace, labels, and the environment's annotations under its own."""
    meta: dict[str, Any] = {"name": name}
    if app.namespace:
        meta["namespace"] = app.namespace
    meta["labels"] = dict(labels)
    merged = {**ctx.settings.annotations, **(annotations or {})}
    if merged:
        meta["annotations"] = merged
    return meta
