"""Changes on disk, each atomic: a file replaced by renaming a synced temp file beside it, a stale one unlinked."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.writer.paths import Folders, shown

TEMP_PREFIX = ".manifestkit-tmp-"
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

_HINTS = {errno.ENOSPC: "free some disk space, then render again",
          errno.EDQUOT: "free some of your disk quota, then render again",
          errno.EROFS: "the file system is read-only: render to another folder",
          errno.EACCES: "check who may write to the folder, or render to another one",
          errno.EPERM: "check who may write to the folder, or render to another one"}


@contextmanager
def located(root: Path, rel: str = "") -> Iterator[None]:
    """Turn an OSError into a diagnostic naming the path and the system's error."""
    try:
        yield
    except OSError as exc:
        code = errno.errorcode.get(exc.errno or 0, "")
        raise ManifestkitError(
            [
                Diagnostic(
                    message=f"cannot write: {exc.strerror or exc}{f' ({code})' if code else ''}; files already written "
                            f"are whole, the rest untouched",
                    file=shown(root, rel),
                    hint=_HINTS.get(exc.errno or 0, ""),
                )
            ]
        ) from exc


def put(dir_fd: int, name: str, data: bytes | Sequence[bytes], private: bool) -> None:
    """Replace ``name`` in the folder ``dir_fd`` with ``data`` (or its parts, one after another) at once:
    :func:`stage`, then rename."""
    temp, _ = stage(dir_fd, data, private)
    commit(dir_fd, temp, name)


def stage(dir_fd: int, data: bytes | Sequence[bytes], private: bool, sync: bool = True) -> tuple[str, os.stat_result]:
    """A temp file in the folder ``dir_fd`` holding ``data`` (or its parts, one after another: a big file is
    never joined), synced (unless the caller syncs many at once: :func:`sync_all`); its name and its stat (the
    inode and mtime it keeps once renamed). Modes: 0666 less the umask, or 0600 when ``private``."""
    temp = TEMP_PREFIX + secrets.token_hex(6)
    fd = os.open(temp, _CREATE, 0o600 if private else 0o666, dir_fd=dir_fd)
    try:
        try:   # the descriptor itself, no file object: thousands of small files
            for part in [data] if isinstance(data, bytes) else data:
                written = os.write(fd, part)
                if written < len(part):
                    with memoryview(part) as view:
                        while written < len(part):
                            written += os.write(fd, view[written:])
            if sync:
                os.fsync(fd)
            return temp, os.fstat(fd)
        finally:
            os.close(fd)
    except BaseException:
        discard(dir_fd, temp)
        raise


def commit(dir_fd: int, temp: str, name: str) -> None:
    """Rename a staged temp file over ``name``: readers see the old file or the new, never half."""
    try:
        os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        discard(dir_fd, temp)
        raise


def discard(dir_fd: int, temp: str) -> None:
    try:
        os.unlink(temp, dir_fd=dir_fd)
    except OSError:
        pass


def remove(folders: Folders, rel: str) -> None:
    """Unlink ``rel`` (never through a link), then every folder it leaves empty."""
    parent, _, name = rel.rpartition("/")
    os.unlink(name, dir_fd=folders.open(parent))
    while parent:
        above, _, folder = parent.rpartition("/")
        try:
            os.rmdir(folder, dir_fd=folders.open(above))
        except OSError:   # not empty (or no longer ours to judge): stop here
            return
        folders.forget(parent)
        parent = above


def clean_temps(folders: Folders, rel_dirs: Iterable[str]) -> None:
    """Remove the temp files a killed write left in these folders (folders that are gone, or
    are links, are skipped: nothing of ours can be there)."""
    for rel_dir in sorted(set(rel_dirs)):
        try:
            fd = folders.open(rel_dir)
        except OSError:
            continue
        for name in os.listdir(fd):
            if name.startswith(TEMP_PREFIX) and stat.S_ISREG(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                os.unlink(name, dir_fd=fd)


def sync_all() -> None:
    """Flush every staged temp file to disk in one call (one ``sync`` instead of an fsync per file:
    thousands of files cost one flush), before any of them is renamed into place."""
    os.sync()


SYNC_EACH_UP_TO = 16   # folders whose renames are made durable one fsync each; more: one sync of everything


def sync_folders(folders: Folders) -> None:
    """Make the renames in every folder the write opened durable: an fsync of each folder, or, for
    many (a Kustomize tree has a folder per app and environment: 5,000 fsyncs took a second of a
    1,000-app render), one ``sync`` as for the files."""
    opened = list(folders.opened())
    if len(opened) > SYNC_EACH_UP_TO:
        os.sync()
        return
    for rel_dir in opened:
        os.fsync(folders.open(rel_dir))
