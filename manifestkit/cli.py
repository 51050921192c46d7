"""The ``manifestkit`` command line: parse arguments, dispatch, turn errors into exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from manifestkit import __version__
from manifestkit.command import Command, guarded


class CommandModule(NamedTuple):
    """A subcommand whose module (and what it imports) loads only when it is configured or run,
    so ``--version`` and ``--help`` start fast. ``help`` is the module's ``COMMAND.help``."""

    help: str
    load: Callable[[], Command]

    def configure(self, parser: argparse.ArgumentParser) -> None:
        self.load().configure(parser)

    def run(self, args: argparse.Namespace, environ: Mapping[str, str]) -> int:
        return self.load().run(args, environ)


def _render() -> Command:
    from manifestkit.cmd_render import COMMAND
    return COMMAND


def _validate() -> Command:
    from manifestkit.cmd_validate import COMMAND
    return COMMAND


def _inject() -> Command:
    from manifestkit.cmd_inject import COMMAND
    return COMMAND


def _diff() -> Command:
    from manifestkit.cmd_diff import COMMAND
    return COMMAND


def _webhook() -> Command:
    from manifestkit.cmd_webhook import COMMAND
    return COMMAND


COMMANDS: dict[str, Command | CommandModule] = {
    "render": CommandModule("render App specs or a Project to Kubernetes YAML", _render),
    "validate": CommandModule("check Kubernetes YAML against its schema and manifestkit's lint rules (MKnnn)", _validate),
    "inject": CommandModule("apply patterns to existing manifests", _inject),
    "diff": CommandModule("show what a render would change (secrets redacted)", _diff),
    "webhook": CommandModule("serve the patterns as a mutating admission webhook, or write the manifests that run it", _webhook),
}

VERBOSE_HELP = "log each render step with its duration and object count"


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; given ``argv``, only the subcommand it names gets its options (and its
    module imported): the others are listed for ``--help`` only."""
    parser = argparse.ArgumentParser(
        prog="manifestkit",
        description="Turn app specs or existing manifests into complete, validated Kubernetes YAML.",
    )
    parser.add_argument("--version", action="version", version=f"manifestkit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    # Also accepted after the subcommand; SUPPRESS keeps an absent one from resetting the first.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = None if argv is None else next((arg for arg in argv if not arg.startswith("-")), "")
    for name, command in COMMANDS.items():
        parser_ = sub.add_parser(name, help=command.help, description=command.help, parents=[common])
        if chosen is None or chosen == name:
            command.configure(parser_)
    return parser


def configure_logging(verbose: bool) -> None:
    """Warnings always, and with ``-v`` one line per step; configured here only, never by a library call."""
    logging.basicConfig(format="manifestkit: %(levelname)s: %(message)s", stream=sys.stderr)
    logging.getLogger("manifestkit").setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    configure_logging(args.verbose)
    return guarded(lambda: COMMANDS[args.command].run(args, dict(os.environ)))


if __name__ == "__main__":
    raise SystemExit(main())
