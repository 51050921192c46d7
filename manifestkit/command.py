"""The record every CLI command module exports as ``COMMAND``, and the one handler that turns a run's errors into exit
codes."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Mapping
from typing import NamedTuple

from manifestkit.diagnostics import Diagnostic, ManifestkitError

INTERRUPTED = 130
UNEXPECTED = 3


class Command(NamedTuple):
    """One subcommand: its help line, how to add its options, and what it runs.

    ``run`` gets the parsed arguments and the process environment (only the CLI reads
    ``os.environ``) and returns the exit code. It raises ManifestkitError for bad input.
    """

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Mapping[str, str]], int]


Run = Callable[[argparse.Namespace, Mapping[str, str]], int]


def one_heap(run: Run) -> Run:
    """``run`` with the cyclic garbage collector paused: for a command that builds one big heap of
    plain data (dicts, lists, strings: no cycles), uses it and is done. Each full pass of the
    collector walks the whole heap, and the passes come as the heap grows, so their cost grows
    faster than the work (a quarter of a 10,000-app render); reference counting frees the rest."""
    def paused(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
        was = gc.isenabled()
        gc.disable()
        try:
            return run(args, environ)
        finally:
            if was:
                gc.enable()
    return paused


def catalogue(help: str, metavar: str, what: str, listing: Callable[[], str], show: Callable[[str], str]) -> Command:
    """A command over a registry: with no argument it lists the entries, with one (``metavar``) it shows that entry."""
    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("name", nargs="?", metavar=metavar, help=what)

    def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
        sys.stdout.write(show(args.name) if args.name else listing())
        return 0

    return Command(help, configure, run)


def guarded(run: Callable[[], int]) -> int:
    """``run()``'s exit code; its errors become one too, never a traceback on the terminal.

    ManifestkitError: every located diagnostic on stderr, exit 2 (FindingsError: 1).
    Anything else is a bug: the traceback goes to a log file, stderr names it, exit 3.
    """
    try:
        return run()
    except ManifestkitError as exc:
        for diagnostic in exc.diagnostics:
            print(shown(diagnostic), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return INTERRUPTED
    except Exception:
        fd, log_path = tempfile.mkstemp(prefix="manifestkit-crash-", suffix=".log")
        with os.fdopen(fd, "w") as log:
            log.write(traceback.format_exc())
        print(f"manifestkit: internal error; details in {log_path}; please report it", file=sys.stderr)
        return UNEXPECTED


def shown(d: Diagnostic) -> str:
    """A diagnostic as the terminal shows it; one that has no file is about the command line, so it reads
    ``manifestkit: error: ...``."""
    if d.file:
        return d.format()
    return Diagnostic(message=d.message, file="manifestkit", line=d.line, column=d.column, path=d.path, hint=d.hint,
                      severity=d.severity, rule=d.rule).format()
