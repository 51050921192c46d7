"""`manifestkit explain APP [FIELD-PATH] [--env ENV]`: which file and line set a field of a rendered object.

The render runs through the real pipeline on traced data (:mod:`manifestkit.explain_run`); the answer is the field's
value (secret values redacted) and every writer that changed it, last first (:mod:`manifestkit.explain_chain`). With no
FIELD-PATH, the app's objects and who made them. See docs/explain.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from manifestkit import cmd_render
from manifestkit.command import Command
from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean
from manifestkit.explain_chain import field_of, fields_of, object_info
from manifestkit.explain_path import find_object, get, object_ref, resolve
from manifestkit.explain_report import REPORTS
from manifestkit.explain_run import Run, explain_run
from manifestkit.loader import PROJECT_FILE
from manifestkit.model import DEFAULT_ENV, Options, Project
from manifestkit.pipeline import environments
from manifestkit.secrets.modes import MODES
from manifestkit.secrets.vault_client import TRUST_ENV

HELP = "say which file and line set a field of a rendered object (App, overlay, pattern, default, ...)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", metavar="APP", help="the app whose objects to explain")
    parser.add_argument("field_path", nargs="?", metavar="FIELD-PATH",
                        help="KIND/NAME.FIELD, e.g. Deployment/web.spec.template.spec.containers[web].image, or FIELD "
                             "of the app's one workload, e.g. spec.replicas (default: list the app's objects)")
    parser.add_argument("--env", "-e", help="the environment (needed when the project has several)")
    parser.add_argument("--project", "-p", default=".", metavar="PROJECT_OR_SPEC",
                        help="a project folder, a manifestkit.yaml or an App file (default: .)")
    parser.add_argument("--output", choices=sorted(REPORTS), default="text", help="report format (default text)")
    parser.add_argument("--secret-output", choices=sorted(MODES),
                        help="how Secrets are written (overrides the project)")
    parser.add_argument("--trust-vault-address", action="store_true",
                        help="send VAULT_TOKEN, ~/.vault-token and login credentials to the project's Vault address")


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    folder = Path(args.project)
    if folder.is_dir() and not (folder / PROJECT_FILE).exists():
        raise ManifestkitError([Diagnostic(
            message=f"no {PROJECT_FILE} in {args.project!r}; expected a project folder, a {PROJECT_FILE} or an App "
                    "file",
            hint="pass the project with -p PATH, or make one with `manifestkit init`")])
    project = cmd_render.load_projects([args.project])[0]
    problems = [d for check in (lambda: chosen_env(project, args.env), lambda: chosen_app(project, args.app))
                for d in _problems(check)]
    if problems:
        raise ManifestkitError(problems)
    env, app = chosen_env(project, args.env), chosen_app(project, args.app)
    if args.trust_vault_address:
        environ = {**environ, TRUST_ENV: "1"}
    result = explain_run(project, env, Options(secret_output=args.secret_output, environ=environ))
    sys.stdout.write(answer(result, app, env or DEFAULT_ENV, args.field_path, args.output))
    return 0


def answer(result: Run, app: str, env: str, field_path: str | None, output: str) -> str:
    """The report on ``field_path`` (a field, the fields under it, or with none the app's objects)."""
    report = REPORTS[output]
    objects = [r for r in result.final if r.app == app]
    if not field_path:
        return report.objects(app, env, [object_info(result, r) for r in objects])
    target, rest = find_object(field_path, objects, app)
    path = resolve(target.obj, rest, object_ref(target)) if rest else ()
    value = get(target.obj, path)
    if isinstance(value, (dict, list)) and value:
        return report.fields(app, env, target, path, fields_of(result, target, path))
    return report.field(app, env, target, field_of(result, target, path))


def _problems(check: Callable[[], object]) -> list[Diagnostic]:
    try:
        check()
    except ManifestkitError as exc:
        return exc.diagnostics
    return []


def chosen_env(project: Project, env: str | None) -> str | None:
    """The environment to explain: the one asked for (checked), the project's only one, or none (no overlays)."""
    names = environments(project, env)
    if env is None and len(project.environments) > 1:
        raise ManifestkitError([Diagnostic(
            message=f"the project has several environments ({', '.join(names)}); say which one to explain",
            file=project.file, hint=f"add --env {names[0]}")])
    return names[0] if project.environments else None


def chosen_app(project: Project, name: str) -> str:
    names = sorted(app.name for app in project.apps)
    if name not in names:
        raise ManifestkitError([Diagnostic(message=f"unknown app {name!r}; expected one of: {', '.join(names)}",
                                           file=project.file, hint=did_you_mean(name, names))])
    return name


COMMAND = Command(HELP, configure, run)
