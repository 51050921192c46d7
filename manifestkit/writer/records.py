"""The writer's records: a file to write, and what a write changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

PRIVATE_MODE = 0o600   # Secrets: only the owner may read, whatever the umask
PUBLIC_MODE = 0o666    # the rest: what the umask leaves of 0666, as `touch` or an editor would


class OutFile(NamedTuple):
    """One output file. A ``mode`` without group or other bits (0o600) marks a private file,
    written 0600; any other mode means "public": 0666 less the umask. ``objects``, when the
    emitter gives them, are the documents ``data`` holds, as the data it dumped (mappings equal
    to what reading ``data`` gives): the render's lint reads them instead of parsing the bytes
    again. They are never written; whoever replaces ``data`` makes a new OutFile without them."""

    data: bytes
    mode: int = PUBLIC_MODE
    objects: tuple[Any, ...] = ()

    @property
    def private(self) -> bool:
        return not self.mode & 0o077


Files = Mapping[str, OutFile]


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteResult:
    """The relative paths a write touched, and those it left alone."""

    written: tuple[str, ...]     # new or changed bytes, each replaced atomically
    unchanged: tuple[str, ...]   # same bytes: not touched (same inode, same mtime)
    removed: tuple[str, ...]     # stale files manifestkit wrote earlier and no longer makes
    kept: tuple[str, ...] = ()   # stale files edited since manifestkit wrote them: left, no longer tracked

    def summary(self) -> str:
        return f"{len(self.written)} written, {len(self.unchanged)} unchanged, {len(self.removed)} removed"
