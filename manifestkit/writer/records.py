"""The writer's records: a file to write, what a write changed, and the stamps of the files it left."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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

Stamp = tuple[int, int, int, int, int, str]   # size, mtime_ns, ctime_ns, inode, device, sha256 hex of the bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Stamps:
    """Public files as a write found them: each one's stat and the sha256 of its bytes, all taken after ``taken``
    (ns, the file system's clock). A file with that stat still holds those bytes: any write or replacement changes
    its ctime or inode. One whose mtime or ctime is not older than ``taken`` may have changed again in the same clock
    tick, so it is never stamped (git's "racy" rule). Private files are never stamped: no hash of a Secret is kept."""

    taken: int = 0
    files: Mapping[str, Stamp] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteResult:
    """The relative paths a write touched, and those it left alone."""

    written: tuple[str, ...]     # new or changed bytes, each replaced atomically
    unchanged: tuple[str, ...]   # same bytes: not touched (same inode, same mtime)
    removed: tuple[str, ...]     # stale files manifestkit wrote earlier and no longer makes
    kept: tuple[str, ...] = ()   # stale files edited since manifestkit wrote them: left, no longer tracked
    stamps: Stamps = field(default_factory=Stamps, compare=False)   # the files left, for the next write to trust

    def summary(self) -> str:
        return f"{len(self.written)} written, {len(self.unchanged)} unchanged, {len(self.removed)} removed"
