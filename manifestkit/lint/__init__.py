"""The lint step: manifestkit's rules MKnnn run over Kubernetes objects.

A finding is a :class:`~manifestkit.diagnostics.Diagnostic` with the rule id and its
(configured) severity, naming the object, the field path and the file line.
``manifestkit.dev/ignore: MK003,MK010`` on an object (or its pod template) silences
those rules there.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from manifestkit.diagnostics import Diagnostic
from manifestkit.lint.base import Hit, LintContext, Rule, Settings
from manifestkit.lint.config import LintConfig, find_config, load_config, parse_config
from manifestkit.lint.podspec import as_map, pod_metadata, ref
from manifestkit.lint.rules import RULES
from manifestkit.yamlio import Document, format_path

IGNORE_ANNOTATION = "manifestkit.dev/ignore"

__all__ = ["IGNORE_ANNOTATION", "RULES", "Hit", "LintConfig", "LintContext", "Rule", "Settings",
           "find_config", "ignored_rules", "lint_object", "load_config", "parse_config"]


def ignored_rules(obj: Mapping[str, Any]) -> frozenset[str]:
    """Rule ids listed in ``manifestkit.dev/ignore`` on the object or its pod template."""
    notes = [as_map(as_map(obj.get("metadata")).get("annotations")), as_map(pod_metadata(obj)[1].get("annotations"))]
    return frozenset(
        part.strip().upper() for n in notes for part in str(n.get(IGNORE_ANNOTATION, "")).split(",") if part.strip()
    )


_DEFAULTS = LintConfig()


def lint_object(obj: Mapping[str, Any], ctx: LintContext, config: LintConfig = _DEFAULTS,
                doc: Document | None = None, prefix: Sequence[str | int] = ()) -> list[Diagnostic]:
    """Every finding of the active rules on one object.

    ``doc`` and ``prefix`` locate the object in its file (``prefix`` is its path inside
    the document, e.g. ``('items', 3)`` in a List).
    """
    skip = ignored_rules(obj)
    out: list[Diagnostic] = []
    name = ref(obj)
    for rule in RULES.values():
        if rule.id in skip or not config.active(rule):
            continue
        for hit in rule.check(obj, ctx):
            out.append(_diagnostic(rule, config.severity_of(rule), hit, name, doc, (*prefix, *hit.path), ctx.file))
    return out


def _diagnostic(rule: Rule, severity: str, hit: Hit, name: str, doc: Document | None,
                path: tuple[str | int, ...], file: str) -> Diagnostic:
    message = f"{name}: {hit.message}"
    shown = sys.intern(format_path(path))   # the same few paths in every object: one copy each
    if doc is None:
        return Diagnostic(message=message, file=file, path=shown, hint=hit.hint, severity=severity, rule=rule.id)
    line, column = doc.position(path)
    if hit.line_offset:
        line, column = line + hit.line_offset, 0
    return Diagnostic(message=message, file=doc.file, line=line, column=column, path=shown,
                      hint=hit.hint, severity=severity, rule=rule.id)
