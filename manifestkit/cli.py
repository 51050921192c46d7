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


def _init() -> Command:
    from manifestkit.cmd_init import COMMAND
    return COMMAND


def _patterns() -> Command:
    from manifestkit.cmd_patterns import COMMAND
    return COMMAND


def _rules() -> Command:
    from manifestkit.cmd_rules import COMMAND
    return COMMAND


def _completion() -> Command:
    from manifestkit.cmd_completion import COMMAND
    return COMMAND


def _explain() -> Command:
    from manifestkit.cmd_explain import COMMAND
    return COMMAND


def _argocd_plugin() -> Command:
    from manifestkit.cmd_argocd import COMMAND
    return COMMAND


COMMANDS: dict[str, Command | CommandModule] = {
    "render": CommandModule("render App specs or a Project to Kubernetes YAML", _render),
    "validate": CommandModule(
        "check Kubernetes YAML against its schema and manifestkit's lint rules (MKnnn)", _validate
    ),
    "inject": CommandModule("apply patterns to existing manifests", _inject),
    "diff": CommandModule("show what a render would change (secrets redacted)", _diff),
    "webhook": CommandModule(
        "serve the patterns as a mutating admission webhook, or write the manifests that run it", _webhook
    ),
    "init": CommandModule(
        "make a new project: manifestkit.yaml, one app, dev/prod overlays, pre-commit and CI files", _init
    ),
    "explain": CommandModule(
        "say which file and line set a field of a rendered object (App, overlay, pattern, default, ...)", _explain
    ),
    "patterns": CommandModule("list the built-in patterns, or show one's parameters and an example", _patterns),
    "rules": CommandModule("list the lint rules (MKnnn), or show one", _rules),
    "completion": CommandModule("print a shell completion script (bash, zsh or fish)", _completion),
    "argocd-plugin": CommandModule(
        "the Argo CD Config Management Plugin: print its plugin.yaml or sidecar, or run its generate step",
        _argocd_plugin,
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
