"""Validation of Kubernetes objects: schema checks (kubeschema) then lint rules (lint).

``validate(objects)`` is the library entry; ``validate_paths`` reads files, folders and
stdin for ``manifestkit validate``. Both return findings as Diagnostics, sorted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from manifestkit import kubeschema, yamlio
from manifestkit.diagnostics import ERROR, INFO, SEVERITY_RANK, WARNING, Diagnostic, ManifestkitError, sort_diagnostics
from manifestkit.lint import RULES, LintConfig, LintContext, find_config, lint_object
from manifestkit.lint.base import ObjectKey, object_key
from manifestkit.lint.podspec import ref
from manifestkit.lint.workload_rules import index_workloads
from manifestkit.yamlio import Document, format_path, load_documents

SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "<stdin>"
# apiVersion groups of files that configure client-side tools, not Kubernetes objects.
CLIENT_SIDE_GROUPS = ("kustomize.config.k8s.io", "config.kubernetes.io", "kpt.dev", "manifestkit.dev", "skaffold")
_SOPS_KEY = "sops"


class Options(NamedTuple):
    kube_version: str | None = None
    strict: bool = True
    schemas: kubeschema.SchemaSet | None = None
    ignore_missing_schemas: bool = False
    skip: frozenset[str] = frozenset()          # kinds (Kind or apiVersion/Kind) not checked at all
    reject: frozenset[str] = frozenset()        # kinds that are findings by themselves
    all_documents: bool = False                 # check non-Kubernetes YAML too instead of skipping it
    config: LintConfig = LintConfig()
    previous: Mapping[ObjectKey, Mapping[str, Any]] = {}
    lint: bool = True


class Unit(NamedTuple):
    """One object to check and where it is: its document and its path in that document."""

    obj: Mapping[str, Any]
    doc: Document | None = None
    prefix: tuple[str | int, ...] = ()
    file: str = ""
    encrypted: bool = False


class Checked(NamedTuple):
    """One object's outcome, for summaries and JUnit."""

    file: str
    name: str
    line: int
    status: str                       # checked | skipped
    findings: tuple[Diagnostic, ...] = ()


class Outcome(NamedTuple):
    findings: list[Diagnostic]
    notes: list[Diagnostic]           # what was skipped and why; never a failure
    checked: list[Checked]
    files: int = 0


# ---------------------------------------------------------------- library entry

def validate(objects: Iterable[Any], kube_version: str | None = None, strict: bool = True,
             schemas: kubeschema.SchemaSet | None = None, config: LintConfig | None = None,
             **options: Any) -> list[Diagnostic]:
    """Schema and lint findings for Kubernetes objects (plain dicts or yamlio Documents).

    Further keyword options are the fields of :class:`Options` (``ignore_missing_schemas``,
    ``skip``, ``reject``, ``previous``, ``lint``).
    """
    opts = Options(kube_version, strict, schemas, config=config or LintConfig(), **options)
    return check_units(list(_units_of(objects)), opts).findings


def _units_of(objects: Iterable[Any]) -> Iterator[Unit]:
    for item in objects:
        if isinstance(item, Document):
            yield from _units_of_document(item)
        elif isinstance(item, Mapping):
            yield Unit(item)
        elif isinstance(getattr(item, "obj", None), Mapping):   # a pipeline Resource
            yield Unit(item.obj)
        else:
            raise TypeError(f"expected a mapping or a Document, found {type(item).__name__}")


def _units_of_document(doc: Document) -> Iterator[Unit]:
    data = doc.data
    encrypted = isinstance(data, Mapping) and isinstance(data.get(_SOPS_KEY), Mapping)
    items = data.get("items") if isinstance(data, Mapping) and data.get("kind") == "List" else None
    if isinstance(items, list):
        for index, item in enumerate(items):
            yield Unit(item if isinstance(item, Mapping) else {}, doc, ("items", index), doc.file, encrypted)
    else:
        yield Unit(data if isinstance(data, Mapping) else {"": data}, doc, (), doc.file, encrypted)


# ---------------------------------------------------------------- checking

def not_kubernetes(obj: Mapping[str, Any]) -> str:
    """Why a document is not a Kubernetes object (a values file, a Kustomization), or ''."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return "no apiVersion and kind (a values or config file?)"
    if api_version.split("/", 1)[0].startswith(CLIENT_SIDE_GROUPS) and "/" in api_version:
        return f"{kind} ({api_version}) configures a client-side tool"
    return ""


def _matches(obj: Mapping[str, Any], kinds: frozenset[str]) -> bool:
    return str(obj.get("kind")) in kinds or f"{obj.get('apiVersion')}/{obj.get('kind')}" in kinds


def _diag(unit: Unit, path: Sequence[str | int], message: str, rule: str, severity: str = ERROR,
          hint: str = "") -> Diagnostic:
    if unit.doc is None:
        return Diagnostic(message, file=unit.file, path=format_path((*unit.prefix, *path)), hint=hint,
                          severity=severity, rule=rule)
    return unit.doc.diagnostic((*unit.prefix, *path), message, hint=hint, severity=severity, rule=rule)


def _schema_findings(unit: Unit, opts: Options, version: str) -> list[Diagnostic]:
    obj = unit.obj
    if unit.encrypted:
        obj = {k: v for k, v in obj.items() if k != _SOPS_KEY}
    errors = kubeschema.check_object(obj, version, opts.strict, opts.schemas)
    name = ref(obj)
    if errors is None:
        if opts.ignore_missing_schemas:
            return []
        return [_diag(unit, ("kind",), f"{name}: no schema for {obj.get('apiVersion')} {obj.get('kind')} in Kubernetes {version}",
                      "schema", hint="pass --schemas DIR with its CRD or JSON Schema, or --ignore-missing-schemas")]
    return [_diag(unit, e.path, f"{name}: {e.message}", "schema") for e in errors]


def check_units(units: list[Unit], opts: Options) -> Outcome:
    """Schema then lint findings for every unit, with notes on what was skipped."""
    version = kubeschema.normalize_version(opts.kube_version or kubeschema.default_kube_version())
    findings: list[Diagnostic] = []
    notes: list[Diagnostic] = []
    checked: list[Checked] = []
    todo: list[Unit] = []
    for unit in units:
        line = unit.doc.position(unit.prefix)[0] if unit.doc else 0
        reason = "" if opts.all_documents else not_kubernetes(unit.obj)
        if reason or _matches(unit.obj, opts.skip):
            why = reason or f"kind {unit.obj.get('kind')} is in --skip"
            notes.append(_diag(unit, (), f"skipped: {why}", "skipped", INFO))
            checked.append(Checked(unit.file, ref(unit.obj), line, "skipped"))
            continue
        todo.append(unit)
    context = LintContext(index_workloads(u.obj for u in todo), opts.previous, opts.config.settings)
    for unit in todo:
        mine: list[Diagnostic] = []
        name = ref(unit.obj)
        if _matches(unit.obj, opts.reject):
            mine.append(_diag(unit, ("kind",), f"{name}: kind {unit.obj.get('kind')} is rejected (--reject)", "rejected"))
        else:
            mine.extend(_schema_findings(unit, opts, version))
            if opts.lint and not not_kubernetes(unit.obj):
                ctx = context._replace(file=unit.file, encrypted=unit.encrypted)
                mine.extend(lint_object(unit.obj, ctx, opts.config, unit.doc, unit.prefix))
        line = unit.doc.position(unit.prefix)[0] if unit.doc else 0
        checked.append(Checked(unit.file, name, line, "checked", tuple(sort_diagnostics(mine))))
        findings.extend(mine)
    return Outcome(sort_diagnostics(findings), notes, checked)


# ---------------------------------------------------------------- files

def expand_paths(paths: Sequence[str]) -> tuple[list[str], list[Diagnostic]]:
    """Files to read: files as given, folders searched recursively for *.yaml|*.yml|*.json."""
    files: list[str] = []
    problems: list[Diagnostic] = []
    for path in paths:
        if path == "-":
            files.append(path)
        elif os.path.isdir(path):
            found = sorted(str(p) for p in Path(path).rglob("*") if p.suffix in SUFFIXES and p.is_file()
                           and not any(part.startswith(".") and part not in (".", "..") for part in p.relative_to(path).parts))
            files.extend(found)
        elif os.path.isfile(path):
            files.append(path)
        else:
            problems.append(Diagnostic("file not found", file=path, hint="give files, folders or - for stdin"))
    return files, problems


def read_units(text: str, file: str, strict: bool) -> tuple[list[Unit], list[Diagnostic]]:
    """The objects of one file, and its YAML problems as findings.

    Duplicate keys are errors under --strict and warnings otherwise; the file is then
    read again the lenient way (last key wins) so its objects are still checked.
    """
    try:
        docs = load_documents(text, file)
    except ManifestkitError as exc:
        problems = [_yaml_finding(d, strict) for d in exc.diagnostics]
        return _lenient_units(text, file), problems
    return [u for doc in docs for u in _units_of_document(doc)], []


def _yaml_finding(d: Diagnostic, strict: bool) -> Diagnostic:
    if d.message.startswith("duplicate key"):
        return d._replace(rule="duplicate-key", severity=ERROR if strict else WARNING)
    return d._replace(rule="yaml", severity=ERROR)


def _lenient_units(text: str, file: str) -> list[Unit]:
    """The documents of a file the strict loader refused (its problems are already reported)."""
    documents, _ = yamlio.load_documents_lenient(text, file)
    return [unit for document in documents for unit in _units_of_document(document)]


def validate_paths(paths: Sequence[str], opts: Options, stdin: str = "") -> Outcome:
    """Check files, folders and ``-`` (``stdin`` holds its text); bad paths are ManifestkitError."""
    files, problems = expand_paths(paths)
    if problems:
        raise ManifestkitError(problems)
    units: list[Unit] = []
    file_findings: list[Diagnostic] = []
    for file in files:
        if file == "-":
            text, display = stdin, STDIN
        else:
            try:
                text = Path(file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                file_findings.append(Diagnostic(f"cannot read file: {exc.__class__.__name__}", file=file, rule="yaml"))
                continue
            display = file
        found, yaml_problems = read_units(text, display, opts.strict)
        units.extend(found)
        file_findings.extend(yaml_problems)
    outcome = check_units(units, opts)
    return outcome._replace(findings=sort_diagnostics([*file_findings, *outcome.findings]), files=len(files))


def load_previous(paths: Sequence[str]) -> dict[ObjectKey, Mapping[str, Any]]:
    """Earlier versions of objects (for MK015), by kind, namespace and name."""
    files, problems = expand_paths(paths)
    if problems:
        raise ManifestkitError(problems)
    out: dict[ObjectKey, Mapping[str, Any]] = {}
    for file in files:
        units, _ = read_units(Path(file).read_text(encoding="utf-8"), file, strict=False)
        out.update((object_key(u.obj), u.obj) for u in units)
    return out


def default_config(folder: Path) -> LintConfig:
    return find_config(folder, RULES)


def at_or_above(findings: Iterable[Diagnostic], level: str) -> list[Diagnostic]:
    return [d for d in findings if SEVERITY_RANK.get(d.severity, 2) >= SEVERITY_RANK[level]]
