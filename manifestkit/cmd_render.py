"""`manifestkit render`: App specs or a Project → plain YAML, a Kustomize tree or Helm charts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from manifestkit.command import Command
from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean, gather
from manifestkit.emit import Emitted
from manifestkit.emit.plain import stream
from manifestkit.emit.registry import EMITTERS
from manifestkit.loader import load_project
from manifestkit.model import Options, Project, Resource
from manifestkit.pipeline import environments, render_env
from manifestkit.render_plan import emit
from manifestkit.secrets.hygiene import warn_plaintext
from manifestkit.secrets.modes import MODES
from manifestkit.secrets.sops_reuse import reuse_unchanged_sops
from manifestkit.writer import check_tree, report_lines, write_tree

DEFAULT_DIR = "build"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=["."], metavar="PROJECT_OR_SPEC",
                        help="a project folder, a manifestkit.yaml or App files (default: .)")
    parser.add_argument("--env", "-e", help="render only this environment (default: all)")
    parser.add_argument("--format", "-f", choices=sorted(EMITTERS), help="output format (default: the project's, else plain)")
    parser.add_argument("-o", "--output", metavar="DIR", help="output folder, or - for one YAML stream on stdout")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 listing what is out of date")
    parser.add_argument("--secret-output", choices=sorted(MODES), help="how Secrets are written (overrides the project)")
    parser.add_argument("--allow-plaintext-secrets", action="store_true",
                        help="allow resolved Secrets to be written inside a git work tree")
    parser.add_argument("--no-validate", action="store_true", help="skip the Kubernetes schema check (not recommended)")
    parser.add_argument("--schemas", metavar="DIR", action="append", default=[],
                        help="CRDs or JSON Schemas (kubeconform's layout) for custom resources; repeatable")
    parser.add_argument("--skip-kinds", metavar="KIND,...", default="",
                        help="accept these kinds without a schema (comma-separated)")


class Plan(NamedTuple):
    """What a render would write, computed without touching the output folder."""

    target: Path
    emitted: Emitted
    resources: list[Resource]
    options: Options


def options_of(args: argparse.Namespace, environ: Mapping[str, str]) -> Options:
    return Options(secret_output=args.secret_output, allow_plaintext_secrets=getattr(args, "allow_plaintext_secrets", False),
                   environ=environ, validate=not args.no_validate,
                   schemas=tuple(getattr(args, "schemas", [])),
                   skip_kinds=tuple(k for k in getattr(args, "skip_kinds", "").split(",") if k))


def plan(args: argparse.Namespace, environ: Mapping[str, str]) -> Plan:
    """Load, render every asked environment, emit: the files a render would write to the folder."""
    options = options_of(args, environ)
    projects = _load_all(args.paths)
    project = projects[0]
    fmt = _format(args, project)
    renders = _renders(projects, args.env, options)
    target = Path(args.output) if args.output else _default_dir(project)
    emitted = emit(project, EMITTERS[fmt], renders, options)
    emitted = replace(emitted, files=reuse_unchanged_sops(target, emitted.files, project, options))
    return Plan(target, emitted, [r for env in renders.values() for r in env], options)


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.output == "-":
        projects = _load_all(args.paths)
        fmt = _format(args, projects[0])
        if fmt != "plain":
            raise ManifestkitError([Diagnostic(message=f"-o - writes one YAML stream; --format {fmt} needs a folder",
                                               hint="pass -o DIR")])
        return _stream(projects, args.env, options_of(args, environ))
    job = plan(args, environ)
    if args.check:
        stale = check_tree(job.target, job.emitted.files, job.emitted.scope)
        for line in stale:
            print(line)
        if stale:
            print(f"manifestkit: {len(stale)} file(s) out of date in {job.target}; run `manifestkit render` to update",
                  file=sys.stderr)
            return 1
        return 0
    warn_plaintext(job.target, job.resources, job.options)
    result = write_tree(job.target, job.emitted.files, job.emitted.scope, force=args.force)
    for line in report_lines(job.target, result):
        print(f"manifestkit: {line}", file=sys.stderr)
    return 0


def _format(args: argparse.Namespace, project: Project) -> str:
    fmt = str(args.format or project.spec.get("output", {}).get("format", "plain"))
    if fmt not in EMITTERS:
        raise ManifestkitError([Diagnostic(message=f"unknown format {fmt!r}; expected one of: {', '.join(sorted(EMITTERS))}",
                                           file=project.file, hint=did_you_mean(fmt, sorted(EMITTERS)))])
    return fmt


def _load_all(paths: list[str]) -> list[Project]:
    return gather(paths, lambda path: [load_project(path)])


def _default_dir(project: Project) -> Path:
    configured = project.spec.get("output", {}).get("dir")
    return project.root / configured if configured else Path(DEFAULT_DIR)


def _renders(projects: list[Project], env: str | None, options: Options) -> dict[str, list[Resource]]:
    renders: dict[str, list[Resource]] = {}
    for project in projects:
        for name in environments(project, env):
            renders.setdefault(name, []).extend(render_env(project, name if project.environments else None, options))
    return renders


def _stream(projects: list[Project], env: str | None, options: Options) -> int:
    renders = _renders(projects, env, options)
    if len(renders) > 1:
        names = sorted(renders)
        raise ManifestkitError([Diagnostic(message=f"-o - writes one environment; the project has {', '.join(names)}",
                                           hint=f"add --env {names[0]}")])
    sys.stdout.write(stream(next(iter(renders.values()))))
    return 0


def configure_render(parser: argparse.ArgumentParser) -> None:
    """`render`'s own flags, beyond those it shares with `diff`."""
    configure(parser)
    parser.add_argument("--force", action="store_true", help="overwrite files in the output folder that manifestkit did not write")


COMMAND = Command("render App specs or a Project to Kubernetes YAML", configure_render, run)
