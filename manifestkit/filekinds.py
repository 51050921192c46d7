"""Checking user files (Project, App, Overlay) against their JSON Schemas in schemas/.

Runs before anything else, so later steps can trust the shape of what they read. Every
violation becomes a located Diagnostic with what was found, what was expected and, for
a misspelled field or value, the closest valid one.

The three schemas share their definitions through ``schemas/common.schema.json`` (``$ref``,
resolved offline from the shipped files); enums that copy a registry are filled from it
when a schema is loaded (:data:`CHOICES`).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from manifestkit import checksums
from manifestkit.diagnostics import Diagnostic, did_you_mean, short_value, type_name
from manifestkit.emit.registry import EMITTERS
from manifestkit.emit.sops_layouts import LAYOUTS
from manifestkit.model import API_VERSION
from manifestkit.package_data import load_schema, registry_of, schema_stems
from manifestkit.schema_errors import non_json_values
from manifestkit.secrets.mirror_engines import ENGINES
from manifestkit.secrets.modes import MODES
from manifestkit.secrets.secret_mirror import DELETE_POLICIES, DESTINATION_TYPES, SOURCE_TYPES
from manifestkit.yamlio import Document, format_path

if TYPE_CHECKING:   # python-jsonschema explains a refused file; a valid one never needs it (nor its import time)
    import referencing
    from jsonschema.exceptions import ValidationError

KINDS = ("Project", "App", "Overlay")
# Kinds whose schema file is not ``<kind lowercased>.schema.json`` (hook for kinds loaded elsewhere).
SCHEMA_FILES = {"WebhookConfig": "webhook-config"}

# Enums a registry owns: a schema node {"x-manifestkit-choices": key} gets "enum": list(CHOICES[key])
# when the schema is loaded, so no schema file carries a copy of a registry's names.
CHOICE_KEYWORD = "x-manifestkit-choices"
# A pattern node may say in words what it expects: {"pattern": ..., "x-manifestkit-expected": "an https URL"}.
EXPECTED_KEYWORD = "x-manifestkit-expected"
CHOICES: dict[str, Collection[str]] = {
    "secret-output": MODES,
    "checksum-mode": checksums.MODES,
    "output-format": EMITTERS,
    "sops-layout": LAYOUTS,
    "mirror-engine": ENGINES,
    "mirror-source-type": SOURCE_TYPES,
    "mirror-destination-type": DESTINATION_TYPES,
    "mirror-delete-policy": DELETE_POLICIES,
}

_NAME_RULE = (
    "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (RFC 1123)"
)


def with_choices(node: Any, choices: Mapping[str, Collection[str]]) -> Any:
    """A copy of the schema ``node`` with every registry-owned enum filled in."""
    if isinstance(node, list):
        return [with_choices(item, choices) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: with_choices(value, choices) for key, value in node.items()}
    if CHOICE_KEYWORD in node:
        out["enum"] = list(choices[node[CHOICE_KEYWORD]])
    return out


@functools.cache
def shipped_schemas() -> dict[str, dict[str, Any]]:
    """Every JSON Schema in schemas/ (file kinds, common definitions, pattern parameters) by
    its ``$id``, registry-owned enums filled in."""
    schemas = [with_choices(load_schema(stem), CHOICES) for stem in schema_stems()]
    return {str(schema["$id"]): schema for schema in schemas if "$id" in schema}


def file_schema(name: str) -> dict[str, Any]:
    """A shipped schema by file stem (``app``, ``patterns/init-fetch``), registry-owned enums filled in."""
    schema: dict[str, Any] = with_choices(load_schema(name), CHOICES)
    return schema


@functools.cache
def schema_registry() -> referencing.Registry[Any]:
    """The shipped schemas for python-jsonschema, so cross-file ``$ref``s resolve offline."""
    return registry_of(shipped_schemas())


@functools.cache
def _validator(kind: str) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(
        file_schema(SCHEMA_FILES.get(kind, kind.lower())),
        registry=schema_registry(),
        format_checker=jsonschema.FormatChecker(),
    )


@functools.cache
def _fast_validator(kind: str) -> Any:
    """A compiled (Rust) validator: most files are valid, so only failures pay for explanations."""
    registry = jsonschema_rs.Registry(list(shipped_schemas().items()))
    return jsonschema_rs.validator_for(
        file_schema(SCHEMA_FILES.get(kind, kind.lower())), registry=registry, offline=True
    )


def check_kind(doc: Document, expected: tuple[str, ...] = KINDS) -> list[Diagnostic]:
    """Is this a manifestkit document of one of ``expected`` kinds? Diagnostics if not."""
    data = doc.data
    if not isinstance(data, dict):
        return [
            doc.diagnostic((), f"expected a mapping with apiVersion, kind, metadata and spec, found {type_name(data)}")
        ]
    kind = data.get("kind")
    if data.get("apiVersion") != API_VERSION or kind not in expected:
        found = f"apiVersion {data.get('apiVersion')!r}, kind {kind!r}"
        hint = did_you_mean(str(kind), expected) if isinstance(kind, str) else ""
        return [
            doc.diagnostic(
                ("kind",) if "kind" in data else (),
                f"{found} is not a manifestkit file; expected apiVersion {API_VERSION} and kind one of: "
                f"{', '.join(expected)}",
                hint=hint,
            )
        ]
    return []


def check_document(doc: Document, expected: tuple[str, ...] = KINDS) -> list[Diagnostic]:
    """All schema violations of one manifestkit document."""
    problems = check_kind(doc, expected)
    if problems:
        return problems
    odd = [] if doc.plain else [
        doc.diagnostic(path, message, hint="YAML reads 2024-01-01 and !!binary as non-strings; write '2024-01-01'")
        for path, message in non_json_values(doc.data)]
    if odd:
        return odd
    if _fast_validator(doc.data["kind"]).is_valid(doc.data):
        return []
    return schema_diagnostics(doc, _validator(doc.data["kind"]))


def schema_diagnostics(doc: Document, validator: Any) -> list[Diagnostic]:
    """Every violation ``validator`` (python-jsonschema) finds in ``doc``, explained, without repeats."""
    seen: set[tuple[str, str]] = set()
    out: list[Diagnostic] = []
    for error in validator.iter_errors(doc.data):
        for diag in _explain(doc, error):
            key = (diag.path, diag.message)
            if key not in seen:
                seen.add(key)
                out.append(diag)
    return out


def _explain(doc: Document, error: ValidationError) -> Iterator[Diagnostic]:
    from jsonschema.exceptions import best_match

    if error.validator in ("oneOf", "anyOf") and error.context:
        # Explain a branch whose type matched: its error is about the content.
        wrong_type = {e.relative_schema_path[0] for e in error.context if not e.relative_path and e.validator == "type"}
        typed = [e for e in error.context if e.relative_schema_path[0] not in wrong_type]
        yield from _explain(doc, best_match(typed or error.context))
        return
    path = list(error.absolute_path)
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        for key in instance:
            if key not in allowed:
                yield doc.diagnostic(
                    [*path, key],
                    f"unknown field {key!r}" + (f" in {format_path(path)}" if path else ""),
                    hint=did_you_mean(key, allowed) or f"expected one of: {', '.join(allowed)}",
                )
        return
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        yield doc.diagnostic(path, f"missing required field {missing!r}")
        return
    if error.validator in ("enum", "const"):
        choices = [str(c) for c in (schema.get("enum") or [schema.get("const")])]
        yield doc.diagnostic(
            path,
            f"found {instance!r}; expected {'one of: ' + ', '.join(choices) if len(choices) > 1 else choices[0]}",
            hint=did_you_mean(str(instance), choices),
        )
        return
    if error.validator == "type":
        raw = error.validator_value
        expected = [str(t) for t in raw] if isinstance(raw, list) else [str(raw)]
        found = type_name(instance) if instance is None else f"{type_name(instance)} {short_value(instance)}"
        yield doc.diagnostic(path, f"found {found}; expected {' or '.join(_json_type(t) for t in expected)}",
                             hint=_type_hint(instance, expected))
        return
    if error.validator in ("pattern", "maxLength") and "[a-z0-9]([-a-z0-9]*[a-z0-9])?" in schema.get("pattern", ""):
        yield doc.diagnostic(path, f"invalid name {instance!r}: use {_NAME_RULE}",
                             hint=f"try {_suggest_name(str(instance))!r}")
        return
    if error.validator == "pattern" and EXPECTED_KEYWORD in schema:
        yield doc.diagnostic(path, f"found {instance!r}; expected {schema[EXPECTED_KEYWORD]}")
        return
    if error.validator == "propertyNames":
        yield doc.diagnostic(path, f"invalid name {error.instance!r} in {format_path(path)}: use {_NAME_RULE}")
        return
    yield doc.diagnostic(path, error.message)


def _json_type(name: str) -> str:
    return {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
            "number": "a number", "boolean": "a boolean", "null": "null"}.get(name, name)


def _type_hint(value: Any, expected: list[str]) -> str:
    if isinstance(value, str) and "integer" in expected and value.strip().isdigit():
        return f"write {value.strip()} without quotes"
    if "array" in expected and isinstance(value, dict):
        return "write a list: each item on its own line starting with '- '"
    if "string" in expected and not isinstance(value, (dict, list)):
        return f"quote the value: '{value}'"
    return ""


def _suggest_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return cleaned[:63].strip("-") or "app"
