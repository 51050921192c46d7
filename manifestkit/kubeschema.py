"""Kubernetes schema checks: one object against the JSON Schema of its kind.

The schemas are the ones the kubernetes-validate package ships (one folder per
Kubernetes minor version, ``-strict`` folders forbid unknown fields). Each schema is
compiled once per (file, kube version, strict) with jsonschema-rs and reused; unlike
``kubernetes_validate.validate`` every error of an object is reported, each with its
instance path. Custom resources come from ``--schemas`` folders: JSON Schemas or CRD
manifests (their ``openAPIV3Schema`` per served version).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema_rs
import yaml

from manifestkit.diagnostics import Diagnostic, ManifestkitError, short_value, type_name
from manifestkit.model import DEFAULT_KUBE_VERSION

_BASE_URI = "https://manifestkit.invalid/api/"
_DEFINITIONS = "_definitions.json"
_VERSION_DIR = re.compile(r"^v(\d+\.\d+)\.\d+-local$")
# kubernetes-validate's file naming: the group's first label, e.g. rbac.authorization.k8s.io/v1 -> rbac-v1.
_GROUP_PREFIX = re.compile(r"^([^./]*)(?:\.[^/]*)?/")

Key = tuple[str, str]          # (apiVersion, kind)


class SchemaError(NamedTuple):
    """One violation: where in the object (instance path) and what is wrong."""

    path: tuple[str | int, ...]
    message: str


@dataclass(frozen=True, eq=False)
class SchemaSet:
    """Extra schemas for custom resources, keyed by (apiVersion, kind).

    Compared and hashed by identity, so compiled validators are cached per set.
    """

    schemas: Mapping[Key, Mapping[str, Any]] = field(default_factory=dict)
    sources: Mapping[Key, str] = field(default_factory=dict)


def _schema_root() -> Path:
    return Path(str(resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")))


@functools.cache
def _shipped() -> tuple[str, ...]:
    found = [m.group(1) for p in _schema_root().iterdir() if (m := _VERSION_DIR.match(p.name))]
    return tuple(sorted(found, key=lambda v: tuple(int(n) for n in v.split("."))))


def kube_versions() -> list[str]:
    """The Kubernetes minor versions with schemas, oldest first: ``["1.25", ..., "1.37"]``."""
    return list(_shipped())


def default_kube_version() -> str:
    """The version a Project defaults to (``kubernetesVersion``), or the newest shipped."""
    return DEFAULT_KUBE_VERSION if DEFAULT_KUBE_VERSION in _shipped() else _shipped()[-1]


def normalize_version(kube_version: str) -> str:
    """``v1.30``, ``1.30`` or ``1.30.4`` → ``1.30``; unknown versions are a ManifestkitError."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", kube_version.strip())
    version = f"{match.group(1)}.{match.group(2)}" if match else kube_version
    if version not in _shipped():
        raise ManifestkitError([Diagnostic(
            f"unknown Kubernetes version {kube_version!r}; expected one of: {', '.join(_shipped())}")])
    return version


def _folder(version: str, strict: bool) -> Path:
    return _schema_root() / f"v{version}.0-local{'-strict' if strict else ''}"


def schema_file(api_version: str, kind: str) -> str:
    """kubernetes-validate's file name for a kind: ``deployment-apps-v1.json``."""
    group_version = _GROUP_PREFIX.sub(r"\1-", api_version)
    return f"{kind.lower()}-{group_version}.json"


@functools.cache
def _registry(version: str, strict: bool) -> jsonschema_rs.Registry:
    with open(_folder(version, strict) / _DEFINITIONS, encoding="utf-8") as handle:
        definitions = json.load(handle)
    return jsonschema_rs.Registry([(_BASE_URI + _DEFINITIONS, definitions)])


@functools.cache
def _builtin_validator(version: str, strict: bool, api_version: str, kind: str) -> Any:
    """The compiled validator for a built-in kind, or None when none ships for it."""
    path = _folder(version, strict) / schema_file(api_version, kind)
    try:
        with open(path, encoding="utf-8") as handle:
            schema = json.load(handle)
    except (FileNotFoundError, ValueError):
        return None
    # A custom group may share the first label with a built-in one (apps.example.com/v1):
    # the schema names the exact apiVersion and kind it is for.
    props = schema.get("properties", {})
    if api_version not in props.get("apiVersion", {}).get("enum", [api_version]) or \
            kind not in props.get("kind", {}).get("enum", [kind]):
        return None
    return jsonschema_rs.validator_for(schema, registry=_registry(version, strict),
                                       base_uri=_BASE_URI + path.name)


@functools.cache
def _extra_validator(extra: SchemaSet, key: Key, strict: bool) -> Any:
    schema = extra.schemas[key]
    return jsonschema_rs.validator_for(dict(_strictified(schema) if strict else schema))


def check_object(obj: Mapping[str, Any], kube_version: str, strict: bool = True,
                 extra: SchemaSet | None = None) -> list[SchemaError] | None:
    """Every schema error of ``obj`` sorted by path; ``[]`` when valid, ``None`` when no schema exists."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    key = lookup_key(extra, api_version, kind) if extra is not None else None
    if extra is not None and key is not None:
        validator = _extra_validator(extra, key, strict)
    else:
        validator = _builtin_validator(normalize_version(kube_version), strict, api_version, kind)
    if validator is None:
        return None
    errors = {e for error in validator.iter_errors(obj) for e in _explain(error)}
    return sorted(errors, key=lambda e: (tuple(str(p) for p in e.path), e.message))


def _explain(error: Any) -> Iterator[SchemaError]:
    path = tuple(error.instance_path)
    kind = error.kind
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
        if branches and all(len(b) == 1 and isinstance(b[0].kind, jsonschema_rs.ValidationErrorKind.Type) for b in branches):
            # int-or-string and friends: say which types would do
            kinds: list[Any] = [b[0].kind for b in branches]
            types = [t for k in kinds for t in k.types if t != "null"]
            yield SchemaError(path, f"found {type_name(error.instance)} {short_value(error.instance)}; expected {' or '.join(types)}")
            return
    yield SchemaError(path, error.message)


# ---------------------------------------------------------------- extra schemas

def load_extra_schemas(dirs: Sequence[Path]) -> SchemaSet:
    """Custom resource schemas from folders: ``*.json`` JSON Schemas and CRD manifests (YAML or JSON).

    A JSON Schema is matched to its kind by ``properties.apiVersion.enum`` and
    ``properties.kind.enum``, by ``x-kubernetes-group-version-kind``, or by a file name
    ``<kind>_<version>.json`` in a folder named after the group (kubeconform's layout).
    """
    schemas: dict[Key, Mapping[str, Any]] = {}
    sources: dict[Key, str] = {}
    problems: list[Diagnostic] = []
    for folder in dirs:
        if not folder.is_dir():
            problems.append(Diagnostic("schema folder not found", file=str(folder),
                                       hint="--schemas takes a folder of JSON Schemas or CRD manifests"))
            continue
        for path in sorted(p for p in folder.rglob("*") if p.suffix in (".json", ".yaml", ".yml") and p.is_file()):
            try:
                for key, schema in _schemas_of_file(path, folder):
                    schemas[key] = schema
                    sources[key] = str(path)
            except (ValueError, yaml.YAMLError) as exc:
                problems.append(Diagnostic(f"cannot read schema file: {exc}", file=str(path)))
    if problems:
        raise ManifestkitError(problems)
    return SchemaSet(schemas, sources)


def _schemas_of_file(path: Path, root: Path) -> Iterator[tuple[Key, Mapping[str, Any]]]:
    text = path.read_text(encoding="utf-8")
    docs = [json.loads(text)] if path.suffix == ".json" else [d for d in yaml.safe_load_all(text) if d]
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == "CustomResourceDefinition":
            yield from _crd_schemas(doc)
        elif path.suffix == ".json":
            for key in _schema_keys(doc, path, root):
                yield key, doc


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


_LITERAL_KEYWORDS = frozenset({"enum", "const", "default", "example", "examples", "required", "properties"})


def _strictified(schema: Mapping[str, Any]) -> Any:
    """A copy where objects with ``properties`` forbid unknown fields, unless they preserve them."""
    if isinstance(schema, list):
        return [_strictified(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {k: v if k in _LITERAL_KEYWORDS else _strictified(v) for k, v in schema.items()}
    if isinstance(schema.get("properties"), Mapping):
        out["properties"] = {name: _strictified(s) for name, s in schema["properties"].items()}
    if "properties" in schema and "additionalProperties" not in schema \
            and not schema.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out
