"""The schema checker: every schema error of one Kubernetes object, each with its path.

Unlike ``kubernetes_validate.validate`` every error of an object is reported, each with
its instance path and a message that says what was found and what was expected.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import jsonschema_rs

from manifestkit.custom_schemas import SchemaSet
from manifestkit.diagnostics import short_value, type_name
from manifestkit.kube_schemas import validator


class SchemaError(NamedTuple):
    """One violation: where in the object (instance path) and what is wrong."""

    path: tuple[str | int, ...]
    message: str


def check_object(obj: Mapping[str, Any], kube_version: str, strict: bool = True,
                 extra: SchemaSet | None = None) -> list[SchemaError] | None:
    """Every schema error of ``obj`` sorted by path; ``[]`` when valid, ``None`` when no schema exists."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    compiled = validator(api_version, kind, kube_version, strict, extra)
    if compiled is None:
        return None
    # JSON Schema knows no dates or bytes (the compiled validator raises on them): report them first.
    errors = {SchemaError(path, message) for path, message in non_json_values(obj)}
    if not errors:
        secret = kind == "Secret"
        errors = {e for error in compiled.iter_errors(obj) for e in _explain(error, secret)}
    return sorted(errors, key=lambda e: (tuple(str(p) for p in e.path), e.message))


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain_json(node: Any) -> bool:
    """Whether ``node`` is made of dicts, lists and JSON scalars only (their exact types): the common
    case, told without a generator per value."""
    stack = [node]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind not in _JSON_SCALARS:
            return False
    return True


def non_json_values(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, message) for every value YAML gave a type JSON lacks: an unquoted date, ``!!binary``, ``!!set``."""
    return iter(()) if _plain_json(node) else _non_json_values(node, path)


def _non_json_values(node: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _non_json_values(value, (*path, key if isinstance(key, (str, int)) else str(key)))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _non_json_values(value, (*path, index))
    elif isinstance(node, (datetime.date, datetime.datetime)):
        yield path, "found an unquoted YAML date; expected a string (quote the value)"
    elif isinstance(node, (bytes, bytearray)):
        yield path, "found !!binary data; expected a string (drop the !!binary tag)"
    elif not isinstance(node, (str, int, float, bool)) and node is not None:
        yield path, f"found a YAML {type(node).__name__}; expected a string, number, boolean, list or mapping"


def secret_value_path(secret: bool, path: tuple[str | int, ...]) -> bool:
    """Is ``path`` a value under a Secret's ``data`` or ``stringData``, which no message may quote?"""
    return secret and len(path) >= 2 and path[0] in ("data", "stringData")


def _explain(error: Any, secret: bool = False) -> Iterator[SchemaError]:
    path = tuple(error.instance_path)
    kind = error.kind
    if secret_value_path(secret, path):
        # Never quote a Secret's value, not even a wrong one (CI logs, SARIF uploads).
        expected = " or ".join(t for t in kind.types if t != "null") if isinstance(
            kind, jsonschema_rs.ValidationErrorKind.Type) else "a value the schema accepts"
        yield SchemaError(path, f"found {type_name(error.instance)} <redacted>; expected {expected}")
        return
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
        for name in kind.unexpected:
            yield SchemaError((*path, name), f"unknown field {name!r}")
        return
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        yield SchemaError(path, f"missing required field {kind.property!r}")
        return
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Type):
        expected = " or ".join(t for t in kind.types if t != "null")
        yield SchemaError(path, f"found {type_name(error.instance)} {short_value(error.instance)}; expected {expected}")
        return
    if isinstance(kind, (jsonschema_rs.ValidationErrorKind.OneOfNotValid, jsonschema_rs.ValidationErrorKind.AnyOf)):
        branches = [branch for branch in kind.context if branch]
        if branches and all(
            len(b) == 1 and isinstance(b[0].kind, jsonschema_rs.ValidationErrorKind.Type) for b in branches
        ):
            # int-or-string and friends: say which types would do
            kinds: list[Any] = [b[0].kind for b in branches]
            types = [t for k in kinds for t in k.types if t != "null"]
            yield SchemaError(
                path, f"found {type_name(error.instance)} {short_value(error.instance)}; expected {' or '.join(types)}"
            )
            return
        if branches:
            # No branch holds: explain the one that comes closest (fewest errors; the first of equals).
            for branch_error in min(branches, key=len):
                yield from _explain(branch_error, secret)
            return
    forbidden = kind.schema if isinstance(kind, jsonschema_rs.ValidationErrorKind.Not) else None
    if isinstance(forbidden, Mapping) and set(forbidden) == {"required"} and isinstance(forbidden["required"], list):
        fields = [repr(str(f)) for f in forbidden["required"]]
        yield SchemaError(path, f"{' and '.join(fields)} exclude each other" if len(fields) > 1
                          else f"field {fields[0]} is not allowed here")
        return
    yield SchemaError(path, error.message)
