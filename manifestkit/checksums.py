"""The checksum step (issue 5 fills this in)."""

from __future__ import annotations

from manifestkit.model import RenderContext, Resource


def add_checksums(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    return resources
