"""Pure work done in a forked child beside the parent's own (the render lints its output while it writes it).

The machine has more than one core and the parent's work there is mostly waiting on the disk,
so the child's result is ready about when the parent needs it. The child gets a copy of
everything at the fork, computes, streams its result back pickled and exits without running
any of the parent's cleanup (and exits 0 only once all of it is sent). Whatever goes wrong in
the child (an exception, a crash, a result that does not pickle) makes the parent do the work
itself, so its errors surface as they would without a child. Without ``os.fork`` (Windows) the
work is done at once.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Pending(Generic[T]):
    """The result of work started beside the caller: :meth:`result` waits for it."""

    def __init__(self, work: Callable[[], T], pid: int = 0, pipe: int = -1) -> None:
        self._work, self._pid, self._pipe = work, pid, pipe
        self._done: list[T] = [] if pid else [work()]

    def result(self) -> T:
        if not self._done:
            self._done.append(self._collect())
        return self._done[0]

    def _collect(self) -> T:
        answer: list[T] = []
        with os.fdopen(self._pipe, "rb") as pipe:   # read as it comes: a big result is never held twice
            self._pipe = -1
            try:
                answer.append(pickle.load(pipe))
            except Exception:   # the child failed before it finished answering
                pass
            pipe.read()         # to the end, so the child can exit
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        return answer[0] if answer and status == 0 else self._work()

    def __del__(self) -> None:
        self.cancel()

    def cancel(self) -> None:
        """Stop the child, if it still runs, without its result."""
        if self._pid:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = 0
        if self._pipe >= 0:
            os.close(self._pipe)
            self._pipe = -1


def beside(work: Callable[[], T], fork: bool = True) -> Pending[T]:
    """``work`` in a forked child (with ``fork`` and where the system forks), else done at once. A
    child whose result is never asked for is stopped when its Pending is dropped (the caller
    failed on its own side)."""
    return _start(work) if fork and hasattr(os, "fork") else Pending(work)


def _start(work: Callable[[], T]) -> Pending[T]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: compute, answer, leave at once (no atexit, no flushing the parent's buffers)
        os.close(read)
        gc.disable()   # a collection would touch, and so copy, every page shared with the parent
        code = 1
        try:
            result = work()
            with os.fdopen(write, "wb") as pipe:
                pickle.dump(result, pipe, protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return Pending(work, pid, read)
