"""Run a command on a real pseudo-terminal (stdin, stdout and stderr all a TTY) and collect what it printed."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_on_tty(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120
) -> tuple[int, str]:
    """``python -m manifestkit ARGV`` on a pty: its exit code and everything the terminal showed."""
    master, slave = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR")}
    environ.update({"TERM": "xterm-256color", "COLUMNS": "100", "PYTHONPATH": str(ROOT), **(env or {})})
    proc = subprocess.Popen([sys.executable, "-m", "manifestkit", *argv], cwd=cwd, env=environ,
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=timeout), b"".join(chunks).decode("utf-8", "replace")
