"""The SecretMirror resource of seed 003's controller (``mirrors.kts.studio/v1alpha2``): its spec built from a
manifestkit entry, and the checks the controller would only fail at run time.

A mirror copies from a source (a Secret of the mirror's namespace, or a Vault path) to a
destination (namespaces matched by regexes, or a Vault path): Secret → namespaces, Vault →
namespaces (static or dynamic secrets), Secret → Vault and Vault → Vault. The entry uses the
controller's own field names (``source: {name, type, vault}``, ``destination: {type,
namespaces, vault}``, ``deletePolicy``, ``pollPeriodSeconds``); the JSON Schemas check each
field's shape, :func:`problems` the rules between fields. Fields the entry leaves out are
left to the controller's defaults (source ``secret``, destination ``namespaces``, delete
policy ``delete``, 180 s), except ``type: vault``, written wherever a ``vault`` block is given:
without it the controller would ignore the block.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

API_VERSION = "mirrors.kts.studio/v1alpha2"
SOURCE_TYPES = ("secret", "vault")            # the controller's source.type (default secret)
DESTINATION_TYPES = ("namespaces", "vault")   # its destination.type (default namespaces)
DELETE_POLICIES = ("delete", "retain")        # its deletePolicy (default delete; a Vault destination keeps all)

Problem = tuple[tuple[str | int, ...], str, str]     # (path in the entry or the list, message, hint)

# What Go's regexp (RE2) refuses though Python's re accepts it; the controller and Kyverno compile with Go.
# https://github.com/google/re2/wiki/Syntax
_RE2_GROUPS = {"(?=": "a lookahead", "(?!": "a negative lookahead", "(?<=": "a lookbehind",
               "(?<!": "a negative lookbehind", "(?P=": "a backreference", "(?>": "an atomic group",
               "(?(": "a conditional"}


def regex_problem(pattern: str, go: bool) -> tuple[str, str] | None:
    """(message, hint) when ``pattern`` is no regular expression (for ``go``: none that Go's regexp compiles)."""
    try:
        re.compile(pattern)
    except re.error as exc:
        glob = pattern.replace(".", r"\.").replace("*", ".*").replace("?", ".")
        hint = (f"namespaces are regular expressions, not globs; for the glob write {glob!r}"
                if "*" in pattern or "?" in pattern else "")
        return f"{pattern!r} is not a regular expression ({exc})", hint
    unsupported = _re2_unsupported(pattern) if go else None
    if unsupported:
        return (f"{pattern!r} uses {unsupported}, which Go's regexp (RE2), used by the controller, does not have",
                "RE2 has no lookaround or backreferences: list the namespaces to match instead of those to skip")
    return None


def _re2_unsupported(pattern: str) -> str | None:
    """The first construct of a valid Python ``pattern`` that RE2 lacks, outside character classes."""
    i, after_quantifier = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escaped = pattern[i + 1:i + 2]
            if escaped.isdigit() and escaped != "0":
                return "a backreference"
            if escaped == "Z":
                return r"\Z (RE2 writes \z)"
            i, after_quantifier = i + 2, False
            continue
        if char == "[":
            i = _class_end(pattern, i)
            after_quantifier = False
            continue
        if char == "(":
            for opening, name in _RE2_GROUPS.items():
                if pattern.startswith(opening, i):
                    return name
        if char == "+" and after_quantifier:
            return "a possessive quantifier"
        after_quantifier = char in "*+?}" and not (char == "?" and after_quantifier)
        i += 1
    return None


def _class_end(pattern: str, start: int) -> int:
    """The index after the character class opening at ``start`` (``[]a]`` and ``[^]a]`` hold a literal ``]``)."""
    i = start + 1
    if pattern[i:i + 1] == "^":
        i += 1
    if pattern[i:i + 1] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def problems(entry: Mapping[str, Any]) -> list[Problem]:
    """What the controller would refuse or silently do otherwise; each at its path in ``entry``."""
    found: list[Problem] = []
    for side in ("source", "destination"):
        if not isinstance(entry.get(side), Mapping):
            found.append(((), f"missing required field {side!r}", ""))
    source: Mapping[str, Any] = entry.get("source") or {}
    destination: Mapping[str, Any] = entry.get("destination") or {}
    found += _vault_type(source, "source", "secret")
    found += _vault_type(destination, "destination", "namespaces")
    if "vault" in destination and "namespaces" in destination:
        found.append((("destination",), "`namespaces` and `vault` exclude each other: the controller writes to one",
                      "write two mirrors for two destinations"))
    elif isinstance(entry.get("destination"), Mapping) and not {"vault", "namespaces"} & set(destination):
        found.append((("destination",), "missing `namespaces` (regexes) or `vault`: the mirror copies nowhere", ""))
    for i, pattern in enumerate(destination.get("namespaces") or []):
        bad = regex_problem(str(pattern), go=True)
        if bad:
            found.append((("destination", "namespaces", i), *bad))
    if "vault" in destination and entry.get("deletePolicy") == "delete":
        found.append((("deletePolicy",), "'delete' has no effect with a Vault destination: the controller keeps what "
                                         "it wrote there (it sets retain)", "drop deletePolicy"))
    if "vault" in source and "vault" in destination and _same_place(source["vault"], destination["vault"]):
        found.append((("destination", "vault", "path"), "the mirror copies a Vault secret onto itself "
                                                        "(same addr and path as the source)", ""))
    return found


def _vault_type(side: Mapping[str, Any], name: str, default: str) -> list[Problem]:
    """A ``vault`` block needs type vault (or none: manifestkit writes it); type vault needs the block."""
    kind = side.get("type")
    if "vault" in side and kind not in (None, "vault"):
        return [((name, "type"), f"type {kind!r} with a `vault` block: the controller would ignore the block",
                 "write type: vault, or drop the vault block")]
    if kind == "vault" and "vault" not in side:
        return [((name,), "type vault needs a `vault` block: {addr, path, auth}", "")]
    return []


def _same_place(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return str(a.get("addr", "")).rstrip("/") == str(b.get("addr", "")).rstrip("/") \
        and str(a.get("path", "")).strip("/") == str(b.get("path", "")).strip("/")


def spec_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The SecretMirror ``spec`` of a checked entry: its fields as written, ``type: vault`` beside a vault block."""
    spec: dict[str, Any] = {side: _side(entry[side]) for side in ("source", "destination")}
    spec.update({key: entry[key] for key in ("deletePolicy", "pollPeriodSeconds") if key in entry})
    return spec


def _side(side: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: side[key] for key in ("name", "type", "namespaces", "vault") if key in side}
    if "vault" in out:
        out = {**({"name": out["name"]} if "name" in out else {}), "type": "vault",
               **{k: v for k, v in out.items() if k not in ("name", "type")}}
    return out


def secret_mirror(metadata: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """The SecretMirror object."""
    return {"apiVersion": API_VERSION, "kind": "SecretMirror", "metadata": dict(metadata), "spec": dict(spec)}


def duplicates(entries: Sequence[Mapping[str, Any]],
               namespace_of: Callable[[Mapping[str, Any]], str | None]) -> list[Problem]:
    """Two entries naming one SecretMirror (same name, same namespace): the second would replace the first. Each
    problem's path starts at the list (``(index, "name")``)."""
    seen: dict[tuple[str, str], int] = {}
    found: list[Problem] = []
    for i, entry in enumerate(entries):
        key = (str(namespace_of(entry) or ""), str(entry.get("name")))
        if key in seen:
            found.append(((i, "name"), f"mirror {key[1]!r} is also entry {seen[key]}: one SecretMirror would "
                                       f"replace the other", "give each mirror its own name"))
        seen.setdefault(key, i)
    return found
