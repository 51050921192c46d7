"""One write at a time per output folder: an exclusive ``flock`` on the folder itself.

Locking the folder, not a lock file in it, leaves no trace: nothing to clean up after a kill
(the lock dies with its holder) and a write that changes nothing changes nothing, not even
the folder's mtime. Who holds the lock is read from /proc/locks where there is one.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.writer.paths import DIR_FLAGS, shown

LOCK_TIMEOUT = 30.0   # seconds a render waits for another one writing the same folder
_POLL = 0.05
_PROC_LOCKS = Path("/proc/locks")


@contextmanager
def folder_lock(root_fd: int, root: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the lock of the folder ``root_fd``, waiting up to ``timeout`` seconds for another holder."""
    fd = os.open(".", DIR_FLAGS, dir_fd=root_fd)   # an open file of our own: flock locks belong to one
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ManifestkitError(
                        [
                            Diagnostic(
                                message=f"the output folder is locked by another manifestkit render (pid "
                                        f"{holder(fd)}); waited {timeout:g}s",
                                file=shown(root),
                                hint="wait for that render to finish, then render again",
                            )
                        ]
                    ) from None
                time.sleep(_POLL)
        yield
    finally:
        os.close(fd)   # closing releases the lock


def holder(fd: int) -> str:
    """The pid holding a flock on the file ``fd``, from /proc/locks; "unknown" elsewhere."""
    info = os.fstat(fd)
    where = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    try:
        lines = _PROC_LOCKS.read_text().splitlines()
    except OSError:
        return "unknown"
    # "1: FLOCK  ADVISORY  WRITE 24047 fe:00:2150938 0 EOF"
    pids = [fields[4] for fields in (line.split() for line in lines)
            if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == where]
    return pids[0] if pids else "unknown"
