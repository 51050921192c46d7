"""`manifestkit diff`: what a render would change in the output folder, secrets redacted."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from manifestkit import cmd_render
from manifestkit.command import Command
from manifestkit.emit.plain import SECRET_MODE
from manifestkit.report import colored_diff, use_color
from manifestkit.writer import stale_files

REDACTED_NOTE = "<redacted, changed>\n"


class Change(NamedTuple):
    """One file a render would add, change or remove; ``diff`` is a unified diff, or the note that replaces a
    Secret's."""

    path: str
    status: str
    secret: bool
    diff: str


def configure(parser: argparse.ArgumentParser) -> None:
    cmd_render.configure(parser)
    parser.add_argument(
        "-o",
        "--dir",
        dest="output",
        metavar="DIR",
        help="the output folder to compare with (default: the project's output.dir)",
    )
    parser.add_argument(
        "--output", dest="report", choices=sorted(REPORTS), default="text", help="report format (default text)"
    )


def changes(job: cmd_render.Plan) -> tuple[list[Change], int]:
    """The files that differ from what a render would write, and how many are unchanged."""
    found: list[Change] = []
    for rel, out in sorted(job.emitted.files.items()):
        path = job.target / rel
        old = path.read_bytes() if path.is_file() else b""
        if old == out.data:
            continue
        status = "changed" if path.is_file() else "added"
        if out.mode == SECRET_MODE:
            found.append(Change(str(path), status, True, f"--- {path}\n+++ {path}\n{REDACTED_NOTE}"))
            continue
        found.append(
            Change(
                str(path),
                status,
                False,
                "".join(
                    difflib.unified_diff(
                        old.decode("utf-8", "replace").splitlines(True),
                        out.data.decode("utf-8").splitlines(True),
                        str(path),
                        str(path),
                    )
                ),
            )
        )
    for rel in stale_files(job.target, job.emitted.files, job.emitted.scope):
        found.append(
            Change(
                str(job.target / rel), "removed", False, f"--- {job.target / rel}\n+++ /dev/null\n(would be removed)\n"
            )
        )
    return found, len(job.emitted.files) - sum(1 for c in found if c.status != "removed")


def summary_line(found: list[Change], unchanged: int) -> str:
    n = {status: sum(1 for c in found if c.status == status) for status in ("added", "changed", "removed")}
    return (f"{len(found)} file(s) would change: {n['added']} added, {n['changed']} changed, {n['removed']} removed; "
            f"{unchanged} unchanged")


def text(found: list[Change], unchanged: int, color: bool) -> str:
    out = "".join(c.diff for c in found)
    return colored_diff(out) if color else out


def as_json(found: list[Change], unchanged: int, color: bool) -> str:
    data: dict[str, Any] = {
        "changes": [
            {"path": c.path, "status": c.status, "secret": c.secret, "diff": None if c.secret else c.diff}
            for c in found
        ],
        "summary": {
            "added": sum(1 for c in found if c.status == "added"),
            "changed": sum(1 for c in found if c.status == "changed"),
            "removed": sum(1 for c in found if c.status == "removed"),
            "unchanged": unchanged,
        },
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


REPORTS: dict[str, Callable[[list[Change], int, bool], str]] = {"text": text, "json": as_json}


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    job = cmd_render.plan(args, environ)
    found, unchanged = changes(job)
    color = args.report == "text" and use_color(sys.stdout.isatty(), environ)
    sys.stdout.write(REPORTS[args.report](found, unchanged, color))
    if args.report == "text" and not getattr(args, "quiet", False):
        print(f"manifestkit: {summary_line(found, unchanged)}", file=sys.stderr)
    return 1 if found else 0


COMMAND = Command("show what a render would change (secrets redacted)", configure, run)
