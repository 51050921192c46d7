"""One write at a time per output folder: an exclusive ``flock`` on a lock file inside it."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.writer.paths import shown

LOCK = ".manifestkit.lock"
LOCK_TIMEOUT = 30.0   # seconds a render waits for another one writing the same folder
_POLL = 0.05


@contextmanager
def folder_lock(root_fd: int, root: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the folder's lock, waiting up to ``timeout`` seconds for another holder. The lock file
    holds the holder's pid and is removed on release; a killed holder's lock dies with it."""
    fd = _acquire(root_fd, root, time.monotonic() + timeout, timeout)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        # Unlink while still holding the lock: a waiter that then locks the unlinked file sees
        # that it is no longer the folder's lock file and starts over (see _acquire).
        try:
            os.unlink(LOCK, dir_fd=root_fd)
        except FileNotFoundError:
            pass
        os.close(fd)


def _acquire(root_fd: int, root: Path, deadline: float, timeout: float) -> int:
    while True:
        fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=root_fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            if time.monotonic() >= deadline:
                raise ManifestkitError([Diagnostic(
                    f"the output folder is locked by another manifestkit render (pid {holder}); waited {timeout:g}s",
                    file=shown(root), hint="wait for that render to finish, then render again")]) from None
            time.sleep(_POLL)
            continue
        except BaseException:
            os.close(fd)
            raise
        if _is_lock_file(fd, root_fd):
            return fd
        os.close(fd)


def _is_lock_file(fd: int, root_fd: int) -> bool:
    """Whether ``fd`` is still the file named LOCK (its last holder may have unlinked it)."""
    held = os.fstat(fd)
    try:
        named = os.stat(LOCK, dir_fd=root_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)
