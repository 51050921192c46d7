"""Reporters for ``manifestkit validate``: text, json, junit and sarif.

Each reporter is a pure function from the outcome to the text to print. Colour is for
people: only on a terminal, never when CI or NO_COLOR is set (decided by the caller
from the environment it was given).
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from itertools import groupby
from typing import Any, NamedTuple

from manifestkit import __version__
from manifestkit.diagnostics import SEVERITY_RANK, Diagnostic
from manifestkit.lint import RULES
from manifestkit.validation_checks import Checked, Outcome

DOCS_URL = "https://github.com/manifestkit/manifestkit/blob/main/docs/rules.md"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# Findings that do not come from a lint rule.
CHECKS: dict[str, tuple[str, str]] = {
    "schema": ("error", "object does not match the Kubernetes (or custom resource) schema"),
    "yaml": ("error", "file is not valid YAML"),
    "duplicate-key": ("error", "a mapping repeats a key (YAML keeps only the last)"),
    "rejected": ("error", "kind rejected with --reject"),
}
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


class ReportOptions(NamedTuple):
    summary: bool = False
    color: bool = False
    fail_on: str = "error"


def use_color(is_tty: bool, environ: Mapping[str, str]) -> bool:
    """Colours only for a person at a terminal: not in CI, not with NO_COLOR (no-color.org)."""
    return is_tty and not environ.get("CI") and "NO_COLOR" not in environ and environ.get("TERM") != "dumb"


def summary_counts(outcome: Outcome, fail_on: str) -> dict[str, int]:
    checked = [c for c in outcome.checked if c.status == "checked"]
    failing = [d for d in outcome.findings if SEVERITY_RANK.get(d.severity, 2) >= SEVERITY_RANK[fail_on]]
    invalid = sum(1 for c in checked if _owns_any(c, failing, outcome.checked))
    return {
        "resources": len(outcome.checked),
        "files": outcome.files,
        "valid": len(checked) - invalid,
        "invalid": invalid,
        "errors": sum(1 for d in outcome.findings if d.rule in ("yaml",)),
        "skipped": sum(1 for c in outcome.checked if c.status == "skipped"),
    }


def _owns_any(c: Checked, failing: list[Diagnostic], everything: list[Checked]) -> bool:
    """Does one of ``failing`` belong to object ``c``: its own findings, or a file-level one (duplicate key,
    --strict) on a line between the object's start and the next object's in the same file?"""
    if any(d in failing for d in c.findings):
        return True
    later = [o.line for o in everything if o.file == c.file and o.line > c.line]
    end = min(later) if later else 1 << 62
    return any(d.file == c.file and c.line <= d.line < end and not d.rule.startswith("MK") for d in failing)


def summary_line(outcome: Outcome, fail_on: str) -> str:
    n = summary_counts(outcome, fail_on)
    return (f"Summary: {n['resources']} resources found in {n['files']} files - Valid: {n['valid']}, "
            f"Invalid: {n['invalid']}, Errors: {n['errors']}, Skipped: {n['skipped']}")


# ---------------------------------------------------------------- text

def text(outcome: Outcome, options: ReportOptions) -> str:
    """Findings grouped by file, one clickable line each; notes on skipped documents."""
    everything = sorted(
        [*outcome.findings, *outcome.notes], key=lambda d: (d.file, d.line, d.column, d.path, d.message)
    )
    blocks = ["\n".join(_line(d) for d in group) for _, group in groupby(everything, key=lambda d: d.file)]
    out = "\n\n".join(blocks)
    if options.summary:
        out = f"{out}\n\n{summary_line(outcome, options.fail_on)}" if out else summary_line(outcome, options.fail_on)
    if not options.color or not out:
        return out + "\n" if out else ""
    return _colored(everything, out)


def _line(d: Diagnostic) -> str:
    if d.rule == "skipped":
        return f"{d.location()}: note: {d.message}"
    return d.format()


def _colored(diagnostics: list[Diagnostic], plain: str) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", width=1 << 16, highlight=False)
    content = Text(plain + "\n")
    for d in diagnostics:
        label = f": {d.severity}" if d.rule != "skipped" else ": note"
        style = _STYLE.get(d.severity, "") if d.rule != "skipped" else "dim"
        content.highlight_words([f"{d.location()}{label}"], style)
    console.print(content, end="")
    return buffer.getvalue()


_DIFF_STYLE = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))


def colored_diff(plain: str) -> str:
    """A unified diff coloured as `git diff` does: file headers bold, hunks cyan, added green, removed red."""
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", width=1 << 16, highlight=False)
    for line in plain.splitlines(True):
        style = next((style for prefix, style in _DIFF_STYLE if line.startswith(prefix)), "")
        console.print(Text(line.rstrip("\n"), style=style), end="\n" if line.endswith("\n") else "")
    return buffer.getvalue()


# ---------------------------------------------------------------- json

def _as_dict(d: Diagnostic) -> dict[str, Any]:
    return {"file": d.file, "line": d.line, "column": d.column, "severity": d.severity, "rule": d.rule,
            "path": d.path, "message": d.message, "hint": d.hint}


def as_json(outcome: Outcome, options: ReportOptions) -> str:
    data = {"findings": [_as_dict(d) for d in outcome.findings], "notes": [_as_dict(d) for d in outcome.notes],
            "summary": summary_counts(outcome, options.fail_on)}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- junit

def junit(outcome: Outcome, options: ReportOptions) -> str:
    """One testsuite per file, one testcase per object, a failure per finding at or above --fail-on."""
    suites = ET.Element("testsuites", name="manifestkit validate")
    files = sorted({c.file for c in outcome.checked} | {d.file for d in outcome.findings})
    loose = [d for d in outcome.findings if d.rule in ("yaml", "duplicate-key")]
    total = failed = 0
    for file in files:
        suite = ET.SubElement(suites, "testsuite", name=file or "<input>")
        cases = [(c.name, c.findings, c.status == "skipped") for c in outcome.checked if c.file == file]
        file_problems = tuple(d for d in loose if d.file == file)
        if file_problems:
            cases.insert(0, ("(file)", file_problems, False))
        tests = failures = skipped = 0
        for name, findings, skip in cases:
            case = ET.SubElement(suite, "testcase", name=name, classname=file or "<input>")
            tests += 1
            if skip:
                ET.SubElement(case, "skipped", message="not a Kubernetes object or kind skipped")
                skipped += 1
                continue
            failing = [d for d in findings if SEVERITY_RANK.get(d.severity, 2) >= SEVERITY_RANK[options.fail_on]]
            for d in failing:
                failure = ET.SubElement(case, "failure", message=d.message, type=d.rule or d.severity)
                failure.text = d.format()
            failures += bool(failing)
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
        total, failed = total + tests, failed + failures
    suites.set("tests", str(total))
    suites.set("failures", str(failed))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


# ---------------------------------------------------------------- sarif

_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _sarif_rules() -> list[dict[str, Any]]:
    rules = [
        {
            "id": r.id,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "helpUri": f"{DOCS_URL}#{rule_anchor(r.id, r.name)}",
            "defaultConfiguration": {"level": _LEVEL[r.severity]},
        }
        for r in RULES.values()
    ]
    rules += [{"id": rule_id, "name": rule_id, "shortDescription": {"text": summary},
               "defaultConfiguration": {"level": _LEVEL[level]}} for rule_id, (level, summary) in CHECKS.items()]
    return rules


def rule_anchor(rule_id: str, name: str) -> str:
    """The GitHub anchor of a rule's section in docs/rules.md, whose heading is `## MK001 selector-labels`."""
    return f"{rule_id} {name}".lower().replace(" ", "-")


def _sarif_result(d: Diagnostic, index: Mapping[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": d.file.replace("\\", "/") or "stdin"}}
    if d.line:
        location["region"] = {"startLine": d.line, **({"startColumn": d.column} if d.column else {})}
    result: dict[str, Any] = {
        "ruleId": d.rule or "schema",
        "level": _LEVEL.get(d.severity, "error"),
        "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
        "locations": [
            {"physicalLocation": location, **({"logicalLocations": [{"fullyQualifiedName": d.path}]} if d.path else {})}
        ],
    }
    if d.rule in index:
        result["ruleIndex"] = index[d.rule]
    return result


def sarif(outcome: Outcome, options: ReportOptions) -> str:
    """SARIF 2.1.0, as code-scanning UIs read it."""
    rules = _sarif_rules()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "manifestkit", "version": __version__, "informationUri": DOCS_URL,
                                         "rules": rules}},
                     "results": [_sarif_result(d, index) for d in outcome.findings]}]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


REPORTERS: dict[str, Callable[[Outcome, ReportOptions], str]] = {
    "text": text,
    "json": as_json,
    "junit": junit,
    "sarif": sarif,
}
