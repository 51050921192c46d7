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
from manifestkit.lint.podspec import as_map, pod_metadata, pod_of, ref
from manifestkit.lint.rules import RULES
from manifestkit.yamlio import Document, format_path

IGNORE_ANNOTATION = "manifestkit.dev/ignore"

__all__ = ["IGNORE_ANNOTATION", "RULES", "ActiveRules", "Hit", "LintConfig", "LintContext", "Rule", "Settings",
           "active_rules", "find_config", "ignored_rules", "lint_object", "load_config", "parse_config"]


def ignored_rules(obj: Mapping[str, Any]) -> frozenset[str]:
    """Rule ids listed in ``manifestkit.dev/ignore`` on the object or its pod template."""
    return _ignored(obj, pod_metadata(obj)[1])


def _ignored(obj: Mapping[str, Any], template: Mapping[str, Any]) -> frozenset[str]:
    own = as_map(as_map(obj.get("metadata")).get("annotations")).get(IGNORE_ANNOTATION, "")
    theirs = as_map(template.get("annotations")).get(IGNORE_ANNOTATION, "")
    if own == "" and theirs == "":
        return _NONE    # nearly every object: nothing to split
    return frozenset(part.strip().upper() for n in (own, theirs) for part in str(n).split(",") if part.strip())


_DEFAULTS = LintConfig()
_NONE: frozenset[str] = frozenset()
ActiveRules = Sequence[tuple[Rule, str]]     # the rules a configuration runs, each with its severity


def active_rules(config: LintConfig) -> ActiveRules:
    """The rules ``config`` runs, in id order, with their configured severities."""
    return [(rule, config.severity_of(rule)) for rule in RULES.values() if config.active(rule)]


def lint_object(obj: Mapping[str, Any], ctx: LintContext, config: LintConfig = _DEFAULTS,
                doc: Document | None = None, prefix: Sequence[str | int] = (),
                rules: ActiveRules | None = None) -> list[Diagnostic]:
    """Every finding of the active rules on one object.

    ``doc`` and ``prefix`` locate the object in its file (``prefix`` is its path inside
    the document, e.g. ``('items', 3)`` in a List). ``rules``: :func:`active_rules` of
    ``config``, when the caller lints many objects with it.
    """
    pod = pod_of(obj)
    skip = _ignored(obj, pod.meta if pod else pod_metadata(obj)[1])
    out: list[Diagnostic] = []
    for rule, severity in active_rules(config) if rules is None else rules:
        if (pod is None and rule.pods) or (skip and rule.id in skip):
            continue
        for hit in rule.check(obj, ctx, pod):
            out.append(_diagnostic(rule, severity, hit, ref(obj), doc, (*prefix, *hit.path), ctx.file))
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
