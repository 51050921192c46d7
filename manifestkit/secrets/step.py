"""The secrets step (issue 4 fills this in)."""

from __future__ import annotations

from manifestkit.model import RenderContext, Resource


def resolve_secrets(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    return resources
