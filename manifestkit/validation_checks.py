"""The checks of `manifestkit validate` over units: schema then lint findings, and notes on what was skipped."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from manifestkit.custom_schemas import SchemaSet
from manifestkit.diagnostics import ERROR, INFO, Diagnostic, sort_diagnostics
from manifestkit.kube_schemas import default_kube_version, normalize_version
from manifestkit.lint import LintConfig, LintContext, lint_object
from manifestkit.lint.base import ObjectKey
from manifestkit.lint.podspec import ref
from manifestkit.lint.workload_rules import index_workloads
from manifestkit.schema_errors import check_object
from manifestkit.validation_inputs import SOPS_KEY, Unit
from manifestkit.yamlio import format_path

# apiVersion groups of files that configure client-side tools, not Kubernetes objects.
CLIENT_SIDE_GROUPS = ("kustomize.config.k8s.io", "config.kubernetes.io", "kpt.dev", "manifestkit.dev", "skaffold")


class Options(NamedTuple):
    kube_version: str | None = None
    strict: bool = True
    schemas: SchemaSet | None = None
    ignore_missing_schemas: bool = False
    skip: frozenset[str] = frozenset()          # kinds (Kind or apiVersion/Kind) not checked at all
    reject: frozenset[str] = frozenset()        # kinds that are findings by themselves
    all_documents: bool = False                 # check non-Kubernetes YAML too instead of skipping it
    config: LintConfig = LintConfig()
    previous: Mapping[ObjectKey, Mapping[str, Any]] = {}
    lint: bool = True


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
        return Diagnostic(message=message, file=unit.file, path=format_path((*unit.prefix, *path)), hint=hint,
                          severity=severity, rule=rule)
    return unit.doc.diagnostic((*unit.prefix, *path), message, hint=hint, severity=severity, rule=rule)


def _schema_findings(unit: Unit, opts: Options, version: str) -> list[Diagnostic]:
    obj = unit.obj
    if unit.encrypted:
        obj = {k: v for k, v in obj.items() if k != SOPS_KEY}
    errors = check_object(obj, version, opts.strict, opts.schemas)
    name = ref(obj)
    if errors is None:
        if opts.ignore_missing_schemas:
            return []
        return [
            _diag(
                unit,
                ("kind",),
                f"{name}: no schema for {obj.get('apiVersion')} {obj.get('kind')} in Kubernetes {version}",
                "schema",
                hint="pass --schemas DIR with its CRD or JSON Schema, or --ignore-missing-schemas",
            )
        ]
    return [_diag(unit, e.path, f"{name}: {e.message}", "schema") for e in errors]


def check_units(units: list[Unit], opts: Options) -> Outcome:
    """Schema then lint findings for every unit, with notes on what was skipped."""
    version = normalize_version(opts.kube_version or default_kube_version())
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
    context = LintContext(
        workloads=index_workloads(u.obj for u in todo), previous=opts.previous, settings=opts.config.settings
    )
    for unit in todo:
        mine: list[Diagnostic] = []
        name = ref(unit.obj)
        if _matches(unit.obj, opts.reject):
            mine.append(
                _diag(unit, ("kind",), f"{name}: kind {unit.obj.get('kind')} is rejected (--reject)", "rejected")
            )
        else:
            mine.extend(_schema_findings(unit, opts, version))
            if opts.lint and not not_kubernetes(unit.obj):
                ctx = dataclasses.replace(context, file=unit.file, encrypted=unit.encrypted)
                mine.extend(lint_object(unit.obj, ctx, opts.config, unit.doc, unit.prefix))
        line = unit.doc.position(unit.prefix)[0] if unit.doc else 0
        checked.append(Checked(unit.file, name, line, "checked", tuple(sort_diagnostics(mine))))
        findings.extend(mine)
    return Outcome(sort_diagnostics(findings), notes, checked)
