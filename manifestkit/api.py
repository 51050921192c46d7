"""The library API, re-exported by ``manifestkit``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from manifestkit.diagnostics import Diagnostic
from manifestkit.emit.plain import object_file, object_path
from manifestkit.loader import load_project
from manifestkit.model import Resource
from manifestkit.pipeline import render
from manifestkit.validation import validate as _validate
from manifestkit.writer import write_tree

__all__ = ["load_project", "render", "validate", "write"]


def write(objects: Iterable[Mapping[str, Any]], directory: str | os.PathLike[str], format: str = "plain") -> list[str]:
    """Write objects (as returned by :func:`render`) to ``directory``, one file per object,
    atomically; returns the relative paths written. Only ``plain`` is supported here: the
    other formats need the project (use ``manifestkit render --format``)."""
    if format != "plain":
        raise ValueError(f"write() supports format='plain'; for {format!r} use `manifestkit render --format {format}`")
    files = {object_path(r): object_file(r) for r in (Resource(obj=o) for o in objects)}
    write_tree(Path(directory), files)
    return sorted(files)


def validate(objects: Iterable[Any], kube_version: str | None = None, strict: bool = True,
             **kwargs: Any) -> list[Diagnostic]:
    """Schema and lint checks over plain dicts or loaded documents; a list of findings."""
    result: list[Diagnostic] = _validate(objects, kube_version=kube_version, strict=strict, **kwargs)
    return result

