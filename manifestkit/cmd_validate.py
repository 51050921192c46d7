"""`manifestkit validate` — placeholder until the validate command lands (issue 6)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from manifestkit.command import Command


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*")


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    return 2


COMMAND = Command("check Kubernetes YAML against schemas and lint rules", configure, run)
