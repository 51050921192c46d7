"""A progress bar on stderr for work that takes more than a moment, shown only to a person at a terminal."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import NamedTuple

DELAY = 0.5  # seconds of work before a bar appears: quick commands print nothing extra


class Progress(NamedTuple):
    """Whether this run shows a bar, and after how many seconds of work."""

    enabled: bool = False
    delay: float = DELAY


NO_PROGRESS = Progress()


def settings(quiet: bool, environ: Mapping[str, str]) -> Progress:
    """A bar only on a terminal, never with --quiet, in CI, under pre-commit (it sets PRE_COMMIT and may give hooks a
    pseudo-terminal, then prints their output after the fact) or on a dumb terminal.

    MANIFESTKIT_PROGRESS_DELAY overrides the delay (the pseudo-terminal tests set 0)."""
    enabled = (not quiet and sys.stderr.isatty() and not environ.get("CI") and not environ.get("PRE_COMMIT")
               and environ.get("TERM") != "dumb")
    try:
        return Progress(enabled, float(environ.get("MANIFESTKIT_PROGRESS_DELAY", DELAY)))
    except ValueError:
        return Progress(enabled)


@contextmanager
def progress(label: str, total: int | None, shown: Progress) -> Iterator[Callable[[str], None]]:
    """Yield ``step(description)``, called after each unit of work; the bar starts after the delay and is erased at
    the end."""
    if not shown.enabled:
        yield lambda description: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    columns += [BarColumn(), MofNCompleteColumn()] if total else []
    bar = Progress(*columns, TimeElapsedColumn(), console=Console(file=sys.stderr), transient=True)
    task = bar.add_task(label, total=total)
    timer = threading.Timer(shown.delay, bar.start)
    timer.daemon = True
    timer.start()
    try:
        yield lambda description: bar.update(task, advance=1, description=f"{label}: {description}")
    finally:
        timer.cancel()
        timer.join()
        bar.stop()
