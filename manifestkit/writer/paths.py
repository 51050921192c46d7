"""Output paths: checked name by name, and looked up or opened without ever following a link."""

from __future__ import annotations

import errno
import os
import stat
from collections import OrderedDict
from collections.abc import Collection, Iterable
from pathlib import Path

from manifestkit.diagnostics import Diagnostic

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC   # O_NONBLOCK: a fifo never hangs us

MISSING = "nothing"
FOLDER = "a folder"
FILE = "a file"
LINK = "a symbolic link"

_SPECIAL = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"),
            (stat.S_ISSOCK, "a socket"))


def kind_of(mode: int) -> str:
    """What an ``lstat`` mode is, as a message says it: "a folder", "a symbolic link", "a named pipe", ..."""
    if stat.S_ISLNK(mode):
        return LINK
    if stat.S_ISDIR(mode):
        return FOLDER
    if stat.S_ISREG(mode):
        return FILE
    return next((name for test, name in _SPECIAL if test(mode)), "a special file")


def lkind(path: str | Path) -> str:
    """The kind of ``path`` itself (a link is a link), or MISSING."""
    try:
        return kind_of(os.lstat(path).st_mode)
    except FileNotFoundError:
        return MISSING


def unsafe(rel: str, reserved: Collection[str], temp_prefix: str) -> str:
    """What makes ``rel`` unfit to name a file inside the output folder, or '' when it is fit."""
    if "\0" in rel:
        return "a NUL character"
    if rel.startswith("/"):
        return "an absolute path"
    bad = [part for part in rel.split("/") if part in ("", ".", "..")]
    if bad:
        return f"the component {bad[0]!r}"
    if rel in reserved or any(part.startswith(temp_prefix) for part in rel.split("/")):
        return "a name manifestkit keeps for itself"
    return ""


def path_problems(root: Path, rels: Iterable[str], reserved: Collection[str], temp_prefix: str) -> list[Diagnostic]:
    """One diagnostic per output path that could point outside ``root`` or at manifestkit's own files."""
    return [
        Diagnostic(
            message=f"output path {rel!r}: found {why}; expected names joined by '/', none of them empty, '.' or '..'",
            file=shown(root),
        )
        for rel in sorted(rels)
        if (why := unsafe(rel, reserved, temp_prefix))
    ]


def lookup(root: Path, rel: str, seen: dict[str, str]) -> tuple[str, str]:
    """``(kind, blocker)``: the kind of the entry at ``rel``, or, when a folder on the way is not a
    real folder (a link, a file), that entry's kind and its relative path. ``seen`` caches folders."""
    kind, blocker, _ = lookup_stat(root, rel, seen)
    return kind, blocker


def lookup_stat(root: Path, rel: str, seen: dict[str, str]) -> tuple[str, str, os.stat_result | None]:
    """:func:`lookup`, with the ``lstat`` of the entry at ``rel`` when there is one (and no blocker)."""
    base = f"{os.fspath(root)}/"     # str paths: a Path per name is most of the cost of a big output's lookups
    parts = rel.split("/")
    for i in range(1, len(parts)):
        prefix = "/".join(parts[:i])
        if prefix not in seen:
            seen[prefix] = lkind(base + prefix)
        if seen[prefix] == MISSING:
            return MISSING, "", None
        if seen[prefix] != FOLDER:
            return seen[prefix], prefix, None
    try:
        info = os.lstat(base + rel)
    except FileNotFoundError:
        return MISSING, "", None
    return kind_of(info.st_mode), "", info


def read_file(path: str | Path, size: int | None = None) -> bytes | None:
    """The bytes of the regular file at ``path`` (not through a link at its last name), or None
    when it is something else, or, with ``size``, when its size differs (nothing to read then)."""
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):   # gone, or a link: not a file of ours
            return None
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or (size is not None and info.st_size != size):
            return None
        return handle.read()


FOLDER_FDS = 32   # folder descriptors a write keeps open at most (a macOS process may open 256 files)


class Folders:
    """The folders of one write under its root (``root_fd``, which the caller owns), each opened
    name by name with O_NOFOLLOW (a link on the way fails, it is never followed) and made where
    missing when asked. At most :data:`FOLDER_FDS` descriptors stay open, the least recently
    used closed first, so an output of many thousand folders (one per app and namespace) stays
    within the process's file limit. A folder opened again must be the folder opened first (same
    device and inode), else the write stops rather than write into a folder swapped in meanwhile."""

    def __init__(self, root_fd: int) -> None:
        self.root_fd = root_fd
        self._fds: OrderedDict[str, int] = OrderedDict()
        self._ids: dict[str, tuple[int, int]] = {}

    def open(self, rel_dir: str, create: bool = False) -> int:
        """A descriptor of folder ``rel_dir`` (``""``: the root), good until the next call."""
        if not rel_dir:
            return self.root_fd
        if rel_dir in self._fds:
            self._fds.move_to_end(rel_dir)
            return self._fds[rel_dir]
        parent, _, name = rel_dir.rpartition("/")
        parent_fd = self.open(parent, create)
        try:
            fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
        except FileNotFoundError:
            if not create:
                raise
            try:
                os.mkdir(name, 0o777, dir_fd=parent_fd)
            except FileExistsError:
                pass
            fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
        info = os.fstat(fd)
        if self._ids.setdefault(rel_dir, (info.st_dev, info.st_ino)) != (info.st_dev, info.st_ino):
            os.close(fd)
            raise OSError(errno.ESTALE, "the folder was replaced by another during the write")
        self._fds[rel_dir] = fd
        while len(self._fds) > FOLDER_FDS:
            os.close(self._fds.popitem(last=False)[1])
        return fd

    def opened(self) -> list[str]:
        """Every folder opened so far (and not forgotten), the root first."""
        return ["", *self._ids]

    def forget(self, rel_dir: str) -> None:
        """``rel_dir`` was removed."""
        self._ids.pop(rel_dir, None)
        fd = self._fds.pop(rel_dir, None)
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        """Close every descriptor this opened (not the root's)."""
        while self._fds:
            os.close(self._fds.popitem()[1])


def shown(root: Path, rel: str = "") -> str:
    """A path under the output folder as messages show it: as the caller named the folder."""
    return str(root / rel if rel else root)
