"""The schema store: the compiled JSON Schema validator for a kind and Kubernetes version.

The built-in schemas are the ones the kubernetes-validate package ships (one folder per
Kubernetes minor version, ``-strict`` folders forbid unknown fields); each is compiled once
per (kube version, strict, apiVersion, kind) with jsonschema-rs and reused. Custom
resources come from a :class:`~manifestkit.custom_schemas.SchemaSet` (``--schemas``),
which wins over a built-in schema of the same kind.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import util
from pathlib import Path
from typing import Any

import jsonschema_rs

from manifestkit.custom_schemas import SchemaSet, compiled, lookup_key
from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.model import DEFAULT_KUBE_VERSION

_BASE_URI = "https://manifestkit.invalid/api/"
_DEFINITIONS = "_definitions.json"
_VERSION_DIR = re.compile(r"^v(\d+\.\d+)\.\d+-local$")
# kubernetes-validate's file naming: the group's first label, e.g. rbac.authorization.k8s.io/v1 -> rbac-v1.
_GROUP_PREFIX = re.compile(r"^([^./]*)(?:\.[^/]*)?/")


@functools.cache
def _schema_root() -> Path:
    # The package's folder, found without importing it: its __init__ imports python-jsonschema (a tenth of a
    # render's start-up) for a validator manifestkit does not use.
    spec = util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the kubernetes-validate package (manifestkit's Kubernetes schemas) is not installed")
    return Path(spec.submodule_search_locations[0]) / "kubernetes-json-schema"


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
            message=f"unknown Kubernetes version {kube_version!r}; expected one of: {', '.join(_shipped())}")])
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


def validator(api_version: str, kind: str, kube_version: str, strict: bool, extra: SchemaSet | None = None) -> Any:
    """The compiled validator for a kind: the custom one from ``extra`` if it has the kind,
    else the one shipped for ``kube_version``; None when there is neither."""
    key = lookup_key(extra, api_version, kind) if extra is not None else None
    if extra is not None and key is not None:
        return compiled(extra, key, strict)
    return _builtin_validator(normalize_version(kube_version), strict, api_version, kind)
