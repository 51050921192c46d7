"""Lint configuration: which rules run and at which severity.

Read from ``.manifestkit.yaml`` (top-level ``lint:``) or from a Project's
``manifestkit.yaml`` (``spec.lint``)::

    lint:
      disable: [MK007]
      enable: [MK022]
      severity: {MK010: error}
      vault: {kv1Mounts: [legacy], kv2Mounts: [kv]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from manifestkit.diagnostics import SEVERITY_RANK, Diagnostic, ManifestkitError, did_you_mean
from manifestkit.lint.base import Rule, Settings
from manifestkit.yamlio import Document, load_file

CONFIG_FILES = (".manifestkit.yaml", "manifestkit.yaml")
_KEYS = ("disable", "enable", "severity", "vault")


class LintConfig(NamedTuple):
    disable: frozenset[str] = frozenset()
    enable: frozenset[str] = frozenset()
    severity: Mapping[str, str] = {}
    settings: Settings = Settings()
    file: str = ""

    def active(self, rule: Rule) -> bool:
        if rule.id in self.disable:
            return False
        return rule.enabled or rule.id in self.enable

    def severity_of(self, rule: Rule) -> str:
        return self.severity.get(rule.id, rule.severity)


def parse_config(raw: Any, rules: Mapping[str, Rule], doc: Document | None = None,
                 where: tuple[str | int, ...] = ("lint",)) -> LintConfig:
    """A LintConfig from the ``lint`` mapping; every mistake is a located diagnostic."""
    problems: list[Diagnostic] = []

    def problem(path: Sequence[str | int], message: str, hint: str = "") -> None:
        full = (*where, *path)
        problems.append(doc.diagnostic(full, message, hint=hint) if doc else Diagnostic(message=message, hint=hint))

    if raw is None:
        return LintConfig(file=doc.file if doc else "")
    if not isinstance(raw, Mapping):
        problem((), "lint settings must be a mapping with disable, enable, severity, vault")
        raise ManifestkitError(problems)
    for key in raw:
        if key not in _KEYS:
            problem(
                (key,),
                f"unknown lint setting {key!r}; expected one of: {', '.join(_KEYS)}",
                did_you_mean(str(key), _KEYS),
            )

    def rule_ids(key: str) -> frozenset[str]:
        value = raw.get(key) or []
        if not isinstance(value, list):
            problem((key,), f"{key} must be a list of rule ids such as MK007")
            return frozenset()
        for index, rule_id in enumerate(value):
            if rule_id not in rules:
                problem(
                    (key, index),
                    f"unknown rule {rule_id!r}; rules are MK001 to {max(rules)}",
                    _case_hint(rule_id, rules),
                )
        return frozenset(str(v) for v in value)

    disable, enable = rule_ids("disable"), rule_ids("enable")
    levels = raw.get("severity") or {}
    if not isinstance(levels, Mapping):
        problem(("severity",), "severity must map rule ids to error, warning or info")
        levels = {}
    for rule_id, level in levels.items():
        if rule_id not in rules:
            problem(
                ("severity", rule_id),
                f"unknown rule {rule_id!r}; rules are MK001 to {max(rules)}",
                _case_hint(rule_id, rules),
            )
        if level not in SEVERITY_RANK:
            problem(("severity", rule_id), f"severity {level!r} is not one of: error, warning, info")
    vault = raw.get("vault") or {}
    settings = Settings()
    if isinstance(vault, Mapping):
        for key in vault:
            if key not in ("kv1Mounts", "kv2Mounts"):
                problem(("vault", key), f"unknown vault setting {key!r}; expected kv1Mounts or kv2Mounts")
        settings = Settings(frozenset(str(m).strip("/") for m in vault.get("kv1Mounts") or []),
                            frozenset(str(m).strip("/") for m in vault.get("kv2Mounts") or ["secret"]))
    else:
        problem(("vault",), "vault must be a mapping with kv1Mounts and kv2Mounts")
    if problems:
        raise ManifestkitError(problems)
    return LintConfig(disable, enable, {str(k): str(v) for k, v in levels.items()}, settings, doc.file if doc else "")


def _case_hint(rule_id: Any, rules: Mapping[str, Rule]) -> str:
    text = str(rule_id).upper()
    if text in rules:
        return f"did you mean {text!r}?"
    digits = text.removeprefix("MK")
    padded = f"MK{int(digits):03d}" if digits.isdigit() else ""
    return f"did you mean {padded!r}?" if padded in rules else ""


def load_config(path: Path, rules: Mapping[str, Rule]) -> LintConfig:
    """The lint settings of a ``.manifestkit.yaml`` (``lint:``) or a Project (``spec.lint``)."""
    docs = load_file(str(path))
    if not docs:
        return LintConfig(file=str(path))
    doc = docs[0]
    data = doc.data if isinstance(doc.data, Mapping) else {}
    if data.get("kind") == "Project":
        return parse_config((data.get("spec") or {}).get("lint"), rules, doc, ("spec", "lint"))
    return parse_config(data.get("lint"), rules, doc, ("lint",))


def find_config(folder: Path, rules: Mapping[str, Rule]) -> LintConfig:
    """The first of ``.manifestkit.yaml``, ``manifestkit.yaml`` in ``folder``; defaults otherwise."""
    for name in CONFIG_FILES:
        candidate = folder / name
        if candidate.is_file():
            return load_config(candidate, rules)
    return LintConfig()
