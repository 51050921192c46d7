"""The ``manifestkit`` command line: parse arguments, dispatch, turn errors into exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence

from manifestkit import __version__
from manifestkit.cmd_diff import COMMAND as DIFF
from manifestkit.cmd_inject import COMMAND as INJECT
from manifestkit.cmd_render import COMMAND as RENDER
from manifestkit.cmd_validate import COMMAND as VALIDATE
from manifestkit.cmd_webhook import COMMAND as WEBHOOK
from manifestkit.command import Command
from manifestkit.diagnostics import ManifestkitError

COMMANDS: dict[str, Command] = {
    "render": RENDER,
    "validate": VALIDATE,
    "inject": INJECT,
    "diff": DIFF,
    "webhook": WEBHOOK,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="manifestkit",
        description="Turn app specs or existing manifests into complete, validated Kubernetes YAML.",
    )
    parser.add_argument("--version", action="version", version=f"manifestkit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each step does")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        command.configure(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="manifestkit: %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        return COMMANDS[args.command].run(args, dict(os.environ))
    except ManifestkitError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic.format(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception:
        fd, log_path = tempfile.mkstemp(prefix="manifestkit-crash-", suffix=".log")
        with os.fdopen(fd, "w") as log:
            log.write(traceback.format_exc())
        print(f"manifestkit: internal error; details in {log_path}; please report it", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
