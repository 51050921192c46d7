"""Emitters: rendered objects → files. Pure functions; only the writer touches the disk."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from manifestkit.model import Options, Project, Resource
from manifestkit.writer import OutFile


class EmitInput(NamedTuple):
    project: Project
    renders: Mapping[str, list[Resource]]               # env name → objects of that env
    render: Callable[[str | None], list[Resource]]       # render any env; None = no overlays (a base)
    options: Options


class Emitted(NamedTuple):
    files: dict[str, OutFile]
    scope: Sequence[str]      # the folders (relative) this output owns: stale files there are removed


Emitter = Callable[[EmitInput], Emitted]
