"""The ``manifestkit`` command line: parse arguments, dispatch, turn errors into exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from manifestkit import __version__
from manifestkit.cmd_argocd import COMMAND as ARGOCD_PLUGIN
from manifestkit.cmd_completion import COMMAND as COMPLETION
from manifestkit.cmd_diff import COMMAND as DIFF
from manifestkit.cmd_init import COMMAND as INIT
from manifestkit.cmd_inject import COMMAND as INJECT
from manifestkit.cmd_patterns import COMMAND as PATTERNS
from manifestkit.cmd_render import COMMAND as RENDER
from manifestkit.cmd_rules import COMMAND as RULES
from manifestkit.cmd_validate import COMMAND as VALIDATE
from manifestkit.command import Command, guarded

COMMANDS: dict[str, Command] = {
    "render": RENDER,
    "validate": VALIDATE,
    "inject": INJECT,
    "diff": DIFF,
    "init": INIT,
    "patterns": PATTERNS,
    "rules": RULES,
    "completion": COMPLETION,
    "argocd-plugin": ARGOCD_PLUGIN,
}

VERBOSE_HELP = "log each step with its duration and object count"
QUIET_HELP = "no progress bar and no summary lines; errors and findings only"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="manifestkit",
        description="Turn app specs or existing manifests into complete, validated Kubernetes YAML.",
    )
    parser.add_argument("--version", action="version", version=f"manifestkit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    parser.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    # Also accepted after the subcommand; SUPPRESS keeps an absent one from resetting the first.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=QUIET_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        command.configure(sub.add_parser(name, help=command.help, description=command.help, parents=[common]))
    parser.set_defaults(root_parser=parser)  # `completion` describes the whole command line
    return parser


def configure_logging(verbose: bool) -> None:
    """Warnings always, and with ``-v`` one line per step; configured here only, never by a library call."""
    logging.basicConfig(format="manifestkit: %(levelname)s: %(message)s", stream=sys.stderr)
    logging.getLogger("manifestkit").setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    return guarded(lambda: COMMANDS[args.command].run(args, dict(os.environ)))


if __name__ == "__main__":
    raise SystemExit(main())
