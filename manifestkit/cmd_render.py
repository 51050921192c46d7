"""`manifestkit render`: App specs or a Project → plain YAML, a Kustomize tree or Helm charts."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from manifestkit.beside import Pending, beside
from manifestkit.command import Command, one_heap
from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean, gather
from manifestkit.emit import Emitted
from manifestkit.emit.plain import join_stream, stream_documents
from manifestkit.emit.registry import EMITTERS
from manifestkit.loader import PROJECT_FILE, DocReader, load_project
from manifestkit.model import Options, Project, Resource
from manifestkit.paths import RESTRICTORS
from manifestkit.progress import NO_PROGRESS, Progress, settings
from manifestkit.render_cache import Cache, open_cache
from manifestkit.render_incremental import Settings
from manifestkit.render_inputs import FileDigests
from manifestkit.render_jobs import (
    BASE,
    app_reader,
    bytes_only,
    cache_of,
    configure_runs,
    emit_memo,
    kept_for_lint,
    remember,
    render_all,
    render_base,
    render_each,
    rendered,
    stream_settings,
)
from manifestkit.render_lint import lint_files, lint_stream, render_config
from manifestkit.render_lint_cache import Kept, kept_findings
from manifestkit.render_plan import emit
from manifestkit.render_stamps import stamped_write
from manifestkit.secrets.hygiene import warn_plaintext
from manifestkit.secrets.modes import MODES
from manifestkit.secrets.sops_reuse import reuse_unchanged_sops
from manifestkit.secrets.vault_client import TRUST_ENV
from manifestkit.shard import configure_shard, parse_shard, shardable
from manifestkit.validation import at_or_above
from manifestkit.writer import LEDGER, OutFile, check_tree, report_lines

DEFAULT_DIR = "build"


def configure(parser: argparse.ArgumentParser) -> None:
    """The flags `render` shares with `diff`: what to render and how; each command adds its own (-o among them)."""
    parser.add_argument("paths", nargs="*", default=["."], metavar="PROJECT_OR_SPEC",
                        help="a project folder, a manifestkit.yaml or App files (default: .)")
    parser.add_argument("--env", "-e", help="render only this environment (default: all)")
    parser.add_argument(
        "--format", "-f", choices=sorted(EMITTERS), help="output format (default: the project's, else plain)"
    )
    parser.add_argument(
        "--secret-output", choices=sorted(MODES), help="how Secrets are written (overrides the project)"
    )
    parser.add_argument("--no-validate", action="store_true", help="skip the Kubernetes schema check (not recommended)")
    parser.add_argument("--fail-on", choices=("error", "warning", "info"), default="error",
                        help="exit 1 when a lint finding (MKnnn, set up in spec.lint) is at or above this severity "
                             "(default error; findings go to stderr)")
    parser.add_argument("--no-lint", action="store_true", help="skip the lint rules on the output")
    parser.add_argument("--load-restrictor", choices=list(RESTRICTORS), default="rootOnly",
                        help="rootOnly (default): every path the project names stays inside its folder; none: no check")
    parser.add_argument("--trust-vault-address", action="store_true",
                        help="send VAULT_TOKEN, ~/.vault-token and login credentials to the project's Vault address")
    parser.add_argument("--schemas", metavar="DIR", action="append", default=[],
                        help="CRDs or JSON Schemas (kubeconform's layout) for custom resources; repeatable")
    parser.add_argument("--skip-kinds", metavar="KIND,...", default="",
                        help="accept these kinds without a schema (comma-separated)")
    configure_runs(parser)


class Plan(NamedTuple):
    """What a render would write, computed without touching the output folder."""

    target: Path
    emitted: Emitted
    resources: list[Resource]
    options: Options
    project: Project
    fmt: str
    ledger: str = LEDGER        # the writer's ledger: a shard keeps its own
    kept: Kept | None = None    # what the lint cache needs (plain format, cache on)
    cache: Cache | None = None  # the render cache (None: --no-cache)


def options_of(args: argparse.Namespace, environ: Mapping[str, str]) -> Options:
    if getattr(args, "trust_vault_address", False):
        environ = {**environ, TRUST_ENV: "1"}
    return Options(
        secret_output=args.secret_output,
        allow_plaintext_secrets=getattr(args, "allow_plaintext_secrets", False),
        environ=environ,
        validate=not args.no_validate,
        schemas=tuple(getattr(args, "schemas", [])),
        skip_kinds=tuple(k for k in getattr(args, "skip_kinds", "").split(",") if k),
    )


def plan(args: argparse.Namespace, environ: Mapping[str, str]) -> Plan:
    """Load, render every asked environment, emit: the files a render would write to the folder."""
    options = options_of(args, environ)
    shard = parse_shard(args.shard) if getattr(args, "shard", None) is not None else None
    files, cache = FileDigests(), cache_of(args, environ)
    docs, read = app_reader(cache, files, args.paths)
    projects = load_projects(args.paths, RESTRICTORS[getattr(args, "load_restrictor", "rootOnly")], read)
    project = projects[0]
    fmt = _format(args, project)
    target = Path(args.output) if args.output else _default_dir(project)
    cache = open_cache(cache.root, target) if cache is not None else None
    settings = Settings(cache=cache, jobs=getattr(args, "jobs", 1), shard=shard, texts=fmt == "plain")
    done = render_all(projects, args.env, options, settings, files, bar(args, environ))
    base = render_base(project, options, settings, files) if EMITTERS[fmt].needs_base else None
    project, projects = rendered(project), []   # the Apps let go before the files are made (~10 KB an app)
    memo, kept = emit_memo(cache, project, fmt, [done, *([base] if base else [])])
    emitted = emit(project, EMITTERS[fmt], done.renders, options, base.renders[BASE] if base else None, done.texts,
                   memo)
    emitted = replace(emitted, files=reuse_unchanged_sops(target, emitted.files, project, options))
    if cache is not None:
        remember(cache, [done, *([base] if base else [])], emitted.files if fmt == "plain" else {}, docs, kept)
    return Plan(target, emitted, [r for env in done.renders.values() for r in env], options, project, fmt,
                shard.ledger if shard else LEDGER, kept_for_lint(cache, done, target, shard) if cache and fmt == "plain"
                else None, cache)


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.output == "-":
        projects = load_projects(args.paths, RESTRICTORS[getattr(args, "load_restrictor", "rootOnly")])
        fmt = _format(args, projects[0])
        if fmt != "plain":
            raise ManifestkitError(
                [
                    Diagnostic(
                        message=f"-o - writes one YAML stream; --format {fmt} needs a folder",
                        hint=f"pass --format plain -o - for one stream, or -o DIR for the {fmt} files",
                    )
                ]
            )
        return stream_one(projects, args.env, options_of(args, environ), lint=not args.no_lint, fail_on=args.fail_on,
                          quiet=getattr(args, "quiet", False), shown=bar(args, environ), run=stream_settings(args))
    job = plan(args, environ)
    if not args.check:
        warn_plaintext(job.target, job.resources, job.options)
    findings, written = _lint(args, job)   # in a child beside the write below; waited for when reported
    job = job._replace(emitted=replace(job.emitted, files=written), resources=[])
    if args.check:
        stale = check_tree(job.target, job.emitted.files, job.emitted.scope, job.ledger)
        for line in stale:
            print(line)
        if stale:
            print(
                f"manifestkit: {len(stale)} file(s) out of date in {job.target}; "
                f"run `{render_command(args)}` to update",
                file=sys.stderr,
            )
            return 1
        return _report(findings.result(), args.fail_on, getattr(args, "quiet", False))
    result = stamped_write(job.cache, job.target, job.emitted.files, job.emitted.scope, args.force, job.ledger)
    for line in [] if getattr(args, "quiet", False) else report_lines(job.target, result):
        print(f"manifestkit: {line}", file=sys.stderr)
    return _report(findings.result(), args.fail_on, getattr(args, "quiet", False))


def _format(args: argparse.Namespace, project: Project) -> str:
    fmt = str(args.format or project.spec.get("output", {}).get("format", "plain"))
    if fmt not in EMITTERS:
        raise ManifestkitError(
            [
                Diagnostic(
                    message=f"unknown format {fmt!r}; expected one of: {', '.join(sorted(EMITTERS))}",
                    file=project.file,
                    hint=did_you_mean(fmt, sorted(EMITTERS)),
                )
            ]
        )
    if getattr(args, "shard", None) is not None:
        shardable(fmt)
    return fmt


def render_command(args: argparse.Namespace) -> str:
    """The exact `manifestkit render` command that brings the checked output up to date."""
    words = ["manifestkit", "render", *([] if args.paths == ["."] else args.paths)]
    for flag, value in (("--env", args.env), ("--format", args.format), ("-o", args.output),
                        ("--secret-output", args.secret_output)):
        words += [flag, value] if value else []
    flags = (("--allow-plaintext-secrets", getattr(args, "allow_plaintext_secrets", False)),
             ("--no-validate", args.no_validate))
    return shlex.join(words + [flag for flag, on in flags if on])


def load_projects(paths: list[str], restricted: bool = True, read: DocReader | None = None) -> list[Project]:
    """The project of each path, every load error reported together (``read``: how App files are read)."""
    return gather(paths, lambda path: [_load_one(path, restricted, read)])


def _load_one(path: str, restricted: bool, read: DocReader | None = None) -> Project:
    folder = Path(path)
    if folder.is_dir() and not (folder / PROJECT_FILE).exists():
        where = "the current folder" if path == "." else repr(path)
        raise ManifestkitError([Diagnostic(
            message=f"no {PROJECT_FILE} in {where}; expected a project folder, a {PROJECT_FILE} or App files",
            hint=f"make a project with `manifestkit init{'' if path == '.' else ' ' + shlex.quote(path)}`, "
                 "or pass the project's folder: `manifestkit render PATH`")])
    return load_project(path, restricted=restricted, read_app=read)


def _default_dir(project: Project) -> Path:
    configured = project.spec.get("output", {}).get("dir")
    return project.root / configured if configured else Path(DEFAULT_DIR)


def bar(args: argparse.Namespace, environ: Mapping[str, str]) -> Progress:
    """The progress settings of this run: a bar on a terminal unless --quiet."""
    return settings(getattr(args, "quiet", False), environ)


def stream_one(projects: list[Project], env: str | None, options: Options, *, lint: bool = True,
               fail_on: str = "error", quiet: bool = False, shown: Progress = NO_PROGRESS,
               run: Settings | None = None) -> int:
    """Render one environment of ``projects`` to stdout as one YAML stream (`render -o -`), then report its lint
    findings (unless ``lint`` is off); 1 when one is at or above ``fail_on``. ``run``: workers and shard of
    `render -o -` (default: in this process, every app, no cache)."""
    renders = render_all(projects, env, options, run, FileDigests(), shown).renders if run else \
        render_each(projects, env, options, shown)
    if len(renders) > 1:
        names = sorted(renders)
        raise ManifestkitError([Diagnostic(message=f"-o - writes one environment; the project has {', '.join(names)}",
                                           hint=f"add --env {names[0]}")])
    documents = stream_documents(next(iter(renders.values())))
    sys.stdout.write(join_stream(documents))
    findings = lint_stream(documents, render_config(projects[0].file, Path.cwd())) if lint else []
    return _report(findings, fail_on, quiet)


# ---------------------------------------------------------------- lint of the output (issue 13, point 10)

LINTED_FORMATS = ("plain", "kustomize")    # Helm templates are Go templates, not the YAML `validate` reads
LINT_BESIDE_AT = 400                        # files: below, a forked child costs more than the lint it takes over


def _lint(args: argparse.Namespace, job: Plan) -> tuple[Pending[list[Diagnostic]], dict[str, OutFile]]:
    """The lint findings on the files the render writes (plain and Kustomize output), found beside
    the write when there are enough files for a child process to pay; and those files to write, without the
    objects they hold (the write needs their bytes only)."""
    if args.no_lint or job.fmt not in LINTED_FORMATS:
        return beside(list, fork=False), bytes_only(job.emitted.files)
    files = {rel: f for rel, f in job.emitted.files.items() if rel not in job.emitted.to_seal}
    config = render_config(job.project.file, Path.cwd())
    if job.kept is not None:    # the findings of unchanged files from the render cache; the rest linted beside
        known = kept_findings(files, job.target, config, job.kept)
        return beside(lambda: known.finish(lambda some, also: lint_files(some, job.target, config, also)),
                      fork=len(known.todo) >= LINT_BESIDE_AT), bytes_only(job.emitted.files)
    target, fork = job.target, len(files) >= LINT_BESIDE_AT
    pending = beside(lambda: lint_files(files, target, config), fork=fork)
    written = bytes_only(job.emitted.files)
    if fork:    # what this process lints if the child fails: the child has the objects, here they are let go
        files = {rel: written[rel] for rel in files} if job.emitted.to_seal else written   # (the bytes parsed again)
    return pending, written


def _report(findings: list[Diagnostic], fail_on: str, quiet: bool) -> int:
    """Findings to stderr, after what the render itself says (with ``--quiet`` only those that fail
    it); 1 when one is at or above ``--fail-on``."""
    failing = at_or_above(findings, fail_on)
    shown = failing if quiet else findings
    for start in range(0, len(shown), REPORT_CHUNK):   # a write per chunk of findings, not per line
        print("\n".join(finding.format() for finding in shown[start:start + REPORT_CHUNK]), file=sys.stderr)
    return 1 if failing else 0


REPORT_CHUNK = 500


def configure_render(parser: argparse.ArgumentParser) -> None:
    """`render`'s own flags, beyond those it shares with `diff`."""
    configure(parser)
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="output folder (default: the project's output.dir), or - for one YAML stream on stdout")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 listing what is out of date")
    parser.add_argument("--allow-plaintext-secrets", action="store_true",
                        help="allow resolved Secrets to be written inside a git work tree")
    parser.add_argument(
        "--force", action="store_true", help="overwrite files in the output folder that manifestkit did not write"
    )
    configure_shard(parser)


COMMAND = Command("render App specs or a Project to Kubernetes YAML", configure_render, one_heap(run))
