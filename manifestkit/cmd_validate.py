"""``manifestkit validate``: schema and lint checks of Kubernetes YAML, for pre-commit and CI.

Exit 0 when no finding is at or above ``--fail-on``, 1 when some are, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from manifestkit import kube_schemas
from manifestkit.command import Command, guarded
from manifestkit.custom_schemas import load_extra_schemas
from manifestkit.lint import RULES, load_config
from manifestkit.progress import progress, settings
from manifestkit.report import REPORTERS, ReportOptions, use_color
from manifestkit.validation import at_or_above, default_config, load_previous, validate_paths
from manifestkit.validation_checks import Options

HELP = "check Kubernetes YAML against its schema and manifestkit's lint rules (MKnnn)"


def _kinds(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", default=[],
                        help="files or folders (searched for *.yaml, *.yml, *.json); - reads stdin "
                             "(the default when stdin is not a terminal)")
    parser.add_argument("-k", "--kube-version", metavar="X.Y",
                        help=f"Kubernetes version of the schemas ({kube_schemas.kube_versions()[0]} to "
                             f"{kube_schemas.kube_versions()[-1]}; default {kube_schemas.default_kube_version()})")
    parser.add_argument("--strict", action="store_true", help="report unknown fields and duplicate keys as errors")
    parser.add_argument("--schemas", metavar="DIR", action="append", default=[], type=Path,
                        help="folder of JSON Schemas or CRD manifests for custom resources (repeatable)")
    parser.add_argument(
        "--ignore-missing-schemas", action="store_true", help="skip the schema check of kinds without a schema"
    )
    parser.add_argument("--skip", metavar="KINDS", type=_kinds, default=frozenset(),
                        help="comma-separated kinds (Kind or apiVersion/Kind) not to check")
    parser.add_argument("--reject", metavar="KINDS", type=_kinds, default=frozenset(),
                        help="comma-separated kinds that are an error wherever they appear")
    parser.add_argument("--all-documents", action="store_true",
                        help="check every document as a Kubernetes object; by default values files, "
                             "Kustomizations and manifestkit specs are skipped with a note")
    parser.add_argument("--summary", action="store_true", help="print a summary line (text output)")
    parser.add_argument("--output", choices=sorted(REPORTERS), default="text", help="report format (default text)")
    parser.add_argument("--fail-on", choices=("error", "warning", "info"), default="error",
                        help="exit 1 when a finding is at or above this severity (default error)")
    parser.add_argument("--config", metavar="FILE", type=Path,
                        help="lint settings (default: .manifestkit.yaml or manifestkit.yaml in the current folder)")
    parser.add_argument("--no-lint", action="store_true", help="check schemas only")
    parser.add_argument(
        "--previous",
        metavar="PATH",
        action="append",
        default=[],
        help="earlier versions of the objects (file or folder), to catch changes that need a recreate (MK015)",
    )
    parser.set_defaults(usage=parser.format_usage())


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if not args.paths and sys.stdin.isatty():
        # Nothing to read but a person's keyboard: say how to call it rather than wait in silence.
        sys.stderr.write(f"{args.usage}manifestkit validate: no PATH given and stdin is a terminal; "
                         "pass files or folders, or - to read YAML from stdin\n")
        return 2
    paths = args.paths or ["-"]
    config = load_config(args.config, RULES) if args.config else default_config(Path.cwd())
    options = Options(
        kube_version=args.kube_version or kube_schemas.default_kube_version(),
        strict=args.strict,
        schemas=load_extra_schemas(args.schemas) if args.schemas else None,
        ignore_missing_schemas=args.ignore_missing_schemas,
        skip=args.skip, reject=args.reject, all_documents=args.all_documents,
        config=config, previous=load_previous(args.previous) if args.previous else {},
        lint=not args.no_lint)
    kube_schemas.normalize_version(options.kube_version or "")
    stdin = sys.stdin.read() if "-" in paths else ""
    with progress(f"validating {', '.join(paths)}", None, settings(getattr(args, "quiet", False), environ)):
        outcome = validate_paths(paths, options, stdin)
    if not outcome.files and "-" not in paths:
        print(f"manifestkit: warning: no YAML or JSON files found in {', '.join(paths)} "
              "(searched for *.yaml, *.yml, *.json); nothing was validated", file=sys.stderr)
    report = ReportOptions(summary=args.summary, fail_on=args.fail_on,
                           color=args.output == "text" and use_color(sys.stdout.isatty(), environ))
    sys.stdout.write(REPORTERS[args.output](outcome, report))
    return 1 if at_or_above(outcome.findings, args.fail_on) else 0


COMMAND = Command(HELP, configure, run)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """``manifestkit validate`` on its own (also ``python -m manifestkit.cmd_validate``)."""
    parser = argparse.ArgumentParser(prog="manifestkit validate", description=HELP)
    configure(parser)
    args = parser.parse_args(argv)
    return guarded(lambda: run(args, {} if environ is None else environ))


if __name__ == "__main__":
    raise SystemExit(main())
