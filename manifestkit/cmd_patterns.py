"""`manifestkit patterns [NAME]`: list the built-in patterns, or show one with its `with:` schema and an example."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

from manifestkit.command import catalogue
from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean
from manifestkit.package_data import schema_registry
from manifestkit.patterns import PATTERNS, Pattern
from manifestkit.patterns.engine import schema_of
from manifestkit.yaml_dump import dump

DOCS = "docs/patterns.md"


def listing() -> str:
    """One line per pattern: its name and what its schema says it does."""
    width = max(len(name) for name in PATTERNS)
    lines = [f"{name:<{width}}  {_summary(pattern)}" for name, pattern in sorted(PATTERNS.items())]
    return "\n".join(lines) + f"\n\nShow one with `manifestkit patterns NAME`; all are described in {DOCS}.\n"


def show(name: str) -> str:
    pattern = PATTERNS.get(name)
    if pattern is None:
        raise ManifestkitError(
            [
                Diagnostic(
                    message=f"unknown pattern {name!r}; expected one of: {', '.join(sorted(PATTERNS))}",
                    hint=did_you_mean(name, sorted(PATTERNS)),
                )
            ]
        )
    schema = schema_of(pattern)
    required = set(schema.get("required", ()))
    params = [_param(key, prop, key in required) for key, prop in schema.get("properties", {}).items()]
    repeat = " (may repeat)" if pattern.repeatable else ""
    example = {"patterns": [{"use": name, "with": example_params(schema)}]}
    return (f"{name}{repeat}: {_summary(pattern)}\n\nwith: (JSON Schema {schema.get('$id', '')})\n"
            + ("\n".join(params) if params else "  (no parameters)")
            + "\n\nexample (an App's spec):\n" + _indent(dump(example)) + f"\nsee {DOCS} for what it adds to the pod\n")


def _summary(pattern: Pattern) -> str:
    """The schema's description, else the first line of the pattern function's docstring."""
    doc = (pattern.apply.__doc__ or "").strip().splitlines()
    kind = "an init container" if not pattern.long_running else "a container beside the app"
    return str(schema_of(pattern).get("description") or (doc[0] if doc else f"adds {kind}"))


def _param(key: str, prop: Any, required: bool) -> str:
    prop = prop if isinstance(prop, Mapping) else {}
    kind = prop.get("type") or str(prop.get("$ref", "any")).rsplit("/", 1)[-1]
    default = f" [default {prop['default']!r}]" if "default" in prop else ""
    what = f": {prop['description']}" if prop.get("description") else ""
    return f"  {key} ({kind}, {'required' if required else 'optional'}){default}{what}"


def example_params(schema: Mapping[str, Any], base: str = "") -> dict[str, Any]:
    """The required parameters with a plausible value each: the schema's example, default, or one of its type.

    ``base`` is the ``$id`` that relative ``$ref``s inside ``schema`` resolve against (the pattern schema's own)."""
    base = base or str(schema.get("$id", ""))
    props = schema.get("properties", {})
    return {key: _value(props.get(key, {}), base) for key in schema.get("required", ())}


_BY_REF = {"port": 8080, "nonEmptyString": "example"}
# Strings tried in turn until one matches the property's schema (a path, a host:port, ...).
_STRINGS = ("example", "/example", "example:8080", "http://127.0.0.1:8080/", "example.svc:443", "example=1")
_BY_TYPE: dict[str, Any] = {"integer": 1, "number": 1, "boolean": True, "array": [], "object": {}, "string": "example"}


def _value(prop: Mapping[str, Any], base: str) -> Any:
    if prop.get("examples"):
        return prop["examples"][0]
    if "default" in prop:
        return prop["default"]
    if "enum" in prop:
        return prop["enum"][0]
    if prop.get("type") == "object":
        made = example_params(prop, base)
        return made if _fits(made, prop, base) else {"example": "example"}
    ref = str(prop.get("$ref", "")).rsplit("/", 1)[-1]
    if ref:
        return _BY_REF.get(ref, "example")
    if prop.get("type") == "array":
        return [_value(prop.get("items", {}), base)] if prop.get("minItems") else []
    if prop.get("type", "string") == "string":
        return next((word for word in _STRINGS if _fits(word, prop, base)), "example")
    return _BY_TYPE.get(str(prop.get("type")), "example")


def _fits(value: Any, prop: Mapping[str, Any], base: str) -> bool:
    schema = {**prop, "$id": base} if base else prop
    return jsonschema.Draft202012Validator(schema, registry=schema_registry()).is_valid(value)


def _indent(text: str) -> str:
    return "".join(f"  {line}" for line in text.splitlines(True))


COMMAND = catalogue("list the built-in patterns, or show one's parameters and an example", "NAME",
                    "a pattern to show (default: list them all)", listing, show)
