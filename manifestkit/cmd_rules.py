"""`manifestkit rules [ID]`: list the lint rules, or show one with its severity and where it is documented."""

from __future__ import annotations

from manifestkit.command import catalogue
from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean
from manifestkit.lint import RULES
from manifestkit.report import rule_anchor

DOCS = "docs/rules.md"


def listing() -> str:
    lines = [f"{r.id}  {r.name:<22} {r.severity:<8} {r.summary}{'' if r.enabled else ' (off by default)'}"
             for r in RULES.values()]
    return "\n".join(lines) + f"\n\nShow one with `manifestkit rules ID`; why each matters is in {DOCS}.\n"


def show(key: str) -> str:
    by_name = {r.name: r for r in RULES.values()}
    rule = RULES.get(key.upper()) or by_name.get(key)
    if rule is None:
        known = sorted(RULES)
        raise ManifestkitError(
            [
                Diagnostic(
                    message=f"unknown rule {key!r}; expected an id ({known[0]} to {known[-1]}) or a name",
                    hint=did_you_mean(key, [*known, *sorted(by_name)]),
                )
            ]
        )
    state = "on" if rule.enabled else "off (turn it on with lint.enable)"
    return (f"{rule.id} {rule.name}: {rule.summary}\nseverity: {rule.severity}\nby default: {state}\n"
            f"docs: {DOCS}#{rule_anchor(rule.id, rule.name)}\n"
            f"silence one object with the annotation manifestkit.dev/ignore: {rule.id}, or the rule with "
            f"lint.disable in .manifestkit.yaml\n")


COMMAND = catalogue("list the lint rules (MKnnn), or show one", "ID",
                    "a rule id (MK009) or name (privileged) to show", listing, show)
