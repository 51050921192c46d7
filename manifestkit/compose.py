"""The pattern step (issue 3 fills this in): apply each App's `patterns:` to its pod template."""

from __future__ import annotations

from manifestkit.model import RenderContext, Resource


def compose_patterns(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    return resources
