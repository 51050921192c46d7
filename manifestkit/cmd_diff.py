"""`manifestkit diff`: what a render would change in the output folder, secrets redacted."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Mapping

from manifestkit import cmd_render
from manifestkit.command import Command
from manifestkit.emit.plain import SECRET_MODE
from manifestkit.writer import stale_files

REDACTED_NOTE = "<redacted, changed>\n"


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    job = cmd_render.plan(args, environ)
    changed = 0
    for rel, out in sorted(job.emitted.files.items()):
        path = job.target / rel
        old = path.read_bytes() if path.is_file() else b""
        if old == out.data:
            continue
        changed += 1
        if out.mode == SECRET_MODE:
            sys.stdout.write(f"--- {path}\n+++ {path}\n{REDACTED_NOTE}")
            continue
        sys.stdout.writelines(difflib.unified_diff(old.decode("utf-8", "replace").splitlines(True),
                                                   out.data.decode("utf-8").splitlines(True), str(path), str(path)))
    for rel in stale_files(job.target, job.emitted.files, job.emitted.scope):
        changed += 1
        sys.stdout.write(f"--- {job.target / rel}\n+++ /dev/null\n(would be removed)\n")
    return 1 if changed else 0


COMMAND = Command("show what a render would change (secrets redacted)", cmd_render.configure, run)
