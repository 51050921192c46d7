"""Custom resource schemas from ``--schemas`` folders: JSON Schemas and CRD manifests, by kind.

A CRD contributes the ``openAPIV3Schema`` of each served version; a JSON Schema is matched
to its kind by ``properties.apiVersion.enum`` and ``properties.kind.enum``, by
``x-kubernetes-group-version-kind``, or by a file name ``<kind>_<version>.json`` in a folder
named after the group (kubeconform's layout). YAML files are read with :mod:`manifestkit.yamlio`,
so duplicate keys and alias bombs are refused like in every other input.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs

from manifestkit.diagnostics import Diagnostic, ManifestkitError, gather
from manifestkit.yamlio import load_documents

Key = tuple[str, str]          # (apiVersion, kind)
Found = tuple[Key, Mapping[str, Any], str]   # a schema, its key and the file it came from
SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True, eq=False)
class SchemaSet:
    """Extra schemas for custom resources, keyed by (apiVersion, kind).

    Compared and hashed by identity, so compiled validators are cached per set.
    """

    schemas: Mapping[Key, Mapping[str, Any]] = field(default_factory=dict)
    sources: Mapping[Key, str] = field(default_factory=dict)


def load_extra_schemas(dirs: Sequence[Path]) -> SchemaSet:
    """Custom resource schemas from folders: ``*.json`` JSON Schemas and CRD manifests (YAML or JSON).

    Every unreadable folder or file is reported, together, as a ManifestkitError.
    """
    found = gather(dirs, _schemas_of_folder)
    return SchemaSet({key: schema for key, schema, _ in found}, {key: source for key, _, source in found})


def load_schema_paths(paths: Sequence[Path]) -> SchemaSet:
    """Like :func:`load_extra_schemas`, but each path may also be one CRD or JSON Schema file."""
    found = gather(paths, lambda path: _schemas_of_folder(path) if path.is_dir() else _schemas_of_one_file(path))
    return SchemaSet({key: schema for key, schema, _ in found}, {key: source for key, _, source in found})


def with_crds(extra: SchemaSet, crds: Sequence[Mapping[str, Any]], source: str) -> SchemaSet:
    """``extra`` with the schemas of the given CRD objects added (those a project renders itself)."""
    found = [(key, schema) for crd in crds for key, schema in _crd_schemas(crd)]
    if not found:
        return extra
    return SchemaSet({**extra.schemas, **dict(found)}, {**extra.sources, **{key: source for key, _ in found}})


def _schemas_of_one_file(path: Path) -> list[Found]:
    if not path.is_file():
        raise ManifestkitError(
            [
                Diagnostic(
                    message="schema file or folder not found",
                    file=str(path),
                    hint="`schemas:` and --schemas take CRD files, JSON Schemas or folders of them",
                )
            ]
        )
    return [(key, schema, str(path)) for key, schema in _schemas_of_file(path, path.parent)]


def _schemas_of_folder(folder: Path) -> list[Found]:
    if not folder.is_dir():
        raise ManifestkitError([Diagnostic(message="schema folder not found", file=str(folder),
                                           hint="--schemas takes a folder of JSON Schemas or CRD manifests")])
    files = sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file())
    return gather(files, lambda path: [(key, schema, str(path)) for key, schema in _schemas_of_file(path, folder)])


def _schemas_of_file(path: Path, root: Path) -> list[tuple[Key, Mapping[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
        docs = (
            [json.loads(text)]
            if path.suffix == ".json"
            else [d.data for d in load_documents(text, str(path)) if d.data]
        )
    except ValueError as exc:
        raise ManifestkitError([Diagnostic(message=f"cannot read schema file: {exc}", file=str(path))]) from None
    out: list[tuple[Key, Mapping[str, Any]]] = []
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == "CustomResourceDefinition":
            out.extend(_crd_schemas(doc))
        elif path.suffix == ".json":
            out.extend((key, doc) for key in _schema_keys(doc, path, root))
    return out


def _crd_schemas(crd: Mapping[str, Any]) -> Iterator[tuple[Key, Mapping[str, Any]]]:
    spec = crd.get("spec") or {}
    group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
    for version in spec.get("versions") or []:
        schema = ((version.get("schema") or {}).get("openAPIV3Schema"))
        if version.get("served", True) and isinstance(schema, dict):
            yield (f"{group}/{version['name']}", kind), _with_object_fields(schema)


def _with_object_fields(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A CRD schema need not list apiVersion, kind and metadata; every object has them."""
    props = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
             **dict(schema.get("properties") or {})}
    return {**schema, "properties": props}


def _schema_keys(schema: Mapping[str, Any], path: Path, root: Path) -> list[Key]:
    props = schema.get("properties") or {}
    versions = (props.get("apiVersion") or {}).get("enum") or []
    kinds = (props.get("kind") or {}).get("enum") or []
    if versions and kinds:
        return [(v, k) for v in versions for k in kinds]
    gvks = schema.get("x-kubernetes-group-version-kind") or []
    if gvks:
        return [(f"{g['group']}/{g['version']}" if g.get("group") else g["version"], g["kind"]) for g in gvks]
    stem, _, version = path.stem.rpartition("_")
    group = path.parent.name if path.parent != root else ""
    if stem and group:
        # kubeconform's CRD catalog names files in lowercase: match the kind case-insensitively.
        return [(f"{group}/{version}", f"~{stem}")]
    return []


def lookup_key(extra: SchemaSet, api_version: str, kind: str) -> Key | None:
    """The key of ``extra`` for an object, exact or by the lowercase file-name form."""
    for key in ((api_version, kind), (api_version, f"~{kind.lower()}")):
        if key in extra.schemas:
            return key
    return None


@functools.cache
def compiled(extra: SchemaSet, key: Key, strict: bool) -> Any:
    """The compiled validator of one custom schema; strict forbids fields the schema does not list."""
    schema = extra.schemas[key]
    return jsonschema_rs.validator_for(dict(_strictified(schema) if strict else schema))


_LITERAL_KEYWORDS = frozenset({"enum", "const", "default", "example", "examples", "required", "properties"})
_COMBINATORS = frozenset({"allOf", "anyOf", "oneOf", "not"})


def _strictified(schema: Mapping[str, Any], in_combinator: bool = False) -> Any:
    """A copy where objects with ``properties`` forbid unknown fields, unless they preserve them. Branches of
    allOf/anyOf/oneOf/not are left open: they only add rules to the object beside them, whose fields they
    need not list (Kubernetes structural schemas forbid ``additionalProperties`` there)."""
    if isinstance(schema, list):
        return [_strictified(s, in_combinator) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {k: v if k in _LITERAL_KEYWORDS else _strictified(v, in_combinator or k in _COMBINATORS)
           for k, v in schema.items()}
    if isinstance(schema.get("properties"), Mapping):
        out["properties"] = {name: _strictified(s, in_combinator) for name, s in schema["properties"].items()}
    if "properties" in schema and "additionalProperties" not in schema and not in_combinator \
            and not schema.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out
