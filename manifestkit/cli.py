"""The ``manifestkit`` command line: parse arguments, dispatch, turn errors into exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from manifestkit import __version__
from manifestkit.command import Command, guarded


class CommandModule(NamedTuple):
    """A subcommand whose module (and what it imports) loads only when it is configured or run,
    so ``--version`` and ``--help`` start fast. ``help`` is the module's ``COMMAND.help``."""

    help: str
    name: str

    def load(self) -> Command:
        return load_command(self.name)

    def configure(self, parser: argparse.ArgumentParser) -> None:
        self.load().configure(parser)

    def run(self, args: argparse.Namespace, environ: Mapping[str, str]) -> int:
        return self.load().run(args, environ)


def load_command(name: str) -> Command:
    """The ``COMMAND`` of subcommand ``name``'s module, imported now (each import is spelled out, so the import
    graph test sees it)."""
    match name:
        case "render":
            from manifestkit.cmd_render import COMMAND
        case "validate":
            from manifestkit.cmd_validate import COMMAND
        case "inject":
            from manifestkit.cmd_inject import COMMAND
        case "diff":
            from manifestkit.cmd_diff import COMMAND
        case "webhook":
            from manifestkit.cmd_webhook import COMMAND
        case "init":
            from manifestkit.cmd_init import COMMAND
        case "patterns":
            from manifestkit.cmd_patterns import COMMAND
        case "rules":
            from manifestkit.cmd_rules import COMMAND
        case "completion":
            from manifestkit.cmd_completion import COMMAND
        case "explain":
            from manifestkit.cmd_explain import COMMAND
        case "argocd-plugin":
            from manifestkit.cmd_argocd import COMMAND
        case _:
            raise KeyError(name)
    return COMMAND


COMMANDS: dict[str, Command | CommandModule] = {
    "render": CommandModule("render App specs or a Project to Kubernetes YAML", "render"),
    "validate": CommandModule(
        "check Kubernetes YAML against its schema and manifestkit's lint rules (MKnnn)",
        "validate",
    ),
    "inject": CommandModule("apply patterns to existing manifests", "inject"),
    "diff": CommandModule("show what a render would change (secrets redacted)", "diff"),
    "webhook": CommandModule(
        "serve the patterns as a mutating admission webhook, or write the manifests that run it",
        "webhook",
    ),
    "init": CommandModule(
        "make a new project: manifestkit.yaml, one app, dev/prod overlays, pre-commit and CI files",
        "init",
    ),
    "explain": CommandModule(
        "say which file and line set a field of a rendered object (App, overlay, pattern, default, ...)", "explain"
    ),
    "patterns": CommandModule("list the built-in patterns, or show one's parameters and an example", "patterns"),
    "rules": CommandModule("list the lint rules (MKnnn), or show one", "rules"),
    "completion": CommandModule("print a shell completion script (bash, zsh or fish)", "completion"),
    "argocd-plugin": CommandModule(
        "the Argo CD Config Management Plugin: print its plugin.yaml or sidecar, or run its generate step",
        "argocd-plugin",
    ),
}

VERBOSE_HELP = "log each step with its duration and object count"
QUIET_HELP = "no progress bar and no summary lines; errors and findings only"


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; given ``argv``, only the subcommand it names gets its options (and its
    module imported): the others are listed for ``--help`` only."""
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
    chosen = None if argv is None else next((arg for arg in argv if not arg.startswith("-")), "")
    for name, command in COMMANDS.items():
        parser_ = sub.add_parser(name, help=command.help, description=command.help, parents=[common])
        if chosen in (None, name, "completion"):   # completion describes every command's flags
            command.configure(parser_)
    parser.set_defaults(root_parser=parser)  # `completion` describes the whole command line
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
