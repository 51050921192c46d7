"""`manifestkit inject` (issue 3 fills this in)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from manifestkit.command import Command


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*")


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    return 2


COMMAND = Command("apply patterns to existing manifests", configure, run)
