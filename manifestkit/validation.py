"""The entry points of validation: objects (library) or paths (`manifestkit validate`) in, sorted findings out.

Reading the inputs is :mod:`manifestkit.validation_inputs`; the schema and lint checks are
:mod:`manifestkit.validation_checks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from manifestkit.custom_schemas import SchemaSet
from manifestkit.diagnostics import SEVERITY_RANK, Diagnostic, ManifestkitError, sort_diagnostics
from manifestkit.lint import RULES, LintConfig, find_config
from manifestkit.lint.base import ObjectKey, object_key
from manifestkit.validation_checks import Options, Outcome, check_units
from manifestkit.validation_inputs import expand_paths, read_paths, read_units, units_of
from manifestkit.yamlio import read_text


def validate(objects: Iterable[Any], kube_version: str | None = None, strict: bool = True,
             schemas: SchemaSet | None = None, config: LintConfig | None = None,
             **options: Any) -> list[Diagnostic]:
    """Schema and lint findings for Kubernetes objects (plain dicts or yamlio Documents).

    Further keyword options are the fields of :class:`~manifestkit.validation_checks.Options`
    (``ignore_missing_schemas``, ``skip``, ``reject``, ``previous``, ``lint``).
    """
    opts = Options(kube_version, strict, schemas, config=config or LintConfig(), **options)
    return check_units(list(units_of(objects)), opts).findings


def validate_paths(paths: Sequence[str], opts: Options, stdin: str = "") -> Outcome:
    """Check files, folders and ``-`` (``stdin`` holds its text); bad paths are ManifestkitError."""
    files, problems = expand_paths(paths)
    if problems:
        raise ManifestkitError(problems)
    units, file_findings = read_paths(files, opts.strict, stdin)
    outcome = check_units(units, opts)
    return outcome._replace(findings=sort_diagnostics([*file_findings, *outcome.findings]), files=len(files))


def load_previous(paths: Sequence[str]) -> dict[ObjectKey, Mapping[str, Any]]:
    """Earlier versions of objects (for MK015), by kind, namespace and name."""
    files, problems = expand_paths(paths)
    if problems:
        raise ManifestkitError(problems)
    out: dict[ObjectKey, Mapping[str, Any]] = {}
    for file in files:
        units, _ = read_units(read_text(file), file, strict=False)   # undecodable: a located error
        out.update((object_key(u.obj), u.obj) for u in units)
    return out


def default_config(folder: Path) -> LintConfig:
    return find_config(folder, RULES)


def at_or_above(findings: Iterable[Diagnostic], level: str) -> list[Diagnostic]:
    return [d for d in findings if SEVERITY_RANK.get(d.severity, 2) >= SEVERITY_RANK[level]]
