"""The lint rules over what `manifestkit render` writes, so a render that exits 0 passes `manifestkit validate`.

The files are read back as `validate` (and the shipped pre-commit hook) reads them, and
every object gets the rules of :data:`~manifestkit.lint.rules.RULES`, configured by the
Project's ``spec.lint``; schema checks are the render's own (``--no-validate``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from manifestkit.diagnostics import Diagnostic, sort_diagnostics
from manifestkit.lint import lint_object
from manifestkit.lint.base import LintContext
from manifestkit.lint.config import LintConfig, find_config, load_config
from manifestkit.lint.rules import RULES
from manifestkit.lint.workload_rules import index_workloads
from manifestkit.validation_checks import not_kubernetes
from manifestkit.validation_inputs import Unit, read_units

YAML_SUFFIXES = (".yaml", ".yml")
# Plaintext Secrets in the output are the render's own check (secrets.hygiene, --allow-plaintext-secrets),
# made where it knows whether the folder is inside a git work tree; MK014 would repeat it without knowing.
RENDER_CHECKS_ITSELF = frozenset({"MK014"})


def render_config(project_file: str, folder: Path) -> LintConfig:
    """The Project's ``spec.lint``; without a Project file, ``.manifestkit.yaml`` in ``folder``."""
    config = load_config(Path(project_file), RULES) if project_file and Path(project_file).is_file() \
        else find_config(folder, RULES)
    return config._replace(disable=config.disable | RENDER_CHECKS_ITSELF)


def lint_texts(texts: Mapping[str, str], config: LintConfig,
               also: Sequence[tuple[str, Mapping[str, Any]]] = ()) -> list[Diagnostic]:
    """Every lint finding on the YAML ``texts`` (file name → text), looked at together (Service → pods); ``also``:
    the objects of other files (file name, object) that rules looking across objects see too."""
    units: list[Unit] = []
    for file, text in sorted(texts.items()):
        found, _ = read_units(text, file, strict=False)    # YAML problems are the render's to report
        units.extend(u for u in found if not not_kubernetes(u.obj))
    seen = sorted([*((u.file, u.obj) for u in units), *also], key=lambda pair: pair[0])
    context = LintContext(workloads=index_workloads(obj for _, obj in seen), settings=config.settings)
    findings: list[Diagnostic] = []
    for unit in units:
        ctx = dataclasses.replace(context, file=unit.file, encrypted=unit.encrypted)
        findings.extend(lint_object(unit.obj, ctx, config, unit.doc, unit.prefix))
    return sort_diagnostics(findings)


def lint_files(files: Mapping[str, bytes], target: Path, config: LintConfig,
               also: Mapping[str, Mapping[str, Any]] | None = None) -> list[Diagnostic]:
    """:func:`lint_texts` over the YAML files of an output (relative path → bytes), named under ``target``;
    ``also``: the objects of other files of the output (relative path → object), seen by cross-object rules."""
    return lint_texts({str(target / rel): data.decode("utf-8") for rel, data in files.items()
                       if rel.endswith(YAML_SUFFIXES)}, config,
                      [(str(target / rel), obj) for rel, obj in (also or {}).items()])
