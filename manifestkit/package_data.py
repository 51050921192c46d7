"""Where the package's data folders are: templates/, overlays/, schemas/.

In a wheel they sit inside the package; in a source checkout (editable install) they sit
beside it at the repository root.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # python-jsonschema's registry, imported only by whoever builds one
    import referencing

_HERE = Path(__file__).resolve().parent


@functools.cache
def data_dir(name: str) -> Path:
    for candidate in (_HERE / name, _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"manifestkit data folder {name!r} is missing from the installation")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in schemas/, by file stem (``app`` → app.schema.json)."""
    with open(data_dir("schemas") / f"{name}.schema.json", encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


def schema_stems() -> list[str]:
    """Every shipped JSON Schema by file stem (``app``, ``common``, ``patterns/init-fetch``)."""
    root = data_dir("schemas")
    return sorted(str(path.relative_to(root)).removesuffix(".schema.json") for path in root.glob("**/*.schema.json"))


def registry_of(schemas: Mapping[str, Any]) -> referencing.Registry[Any]:
    """A python-jsonschema registry of schemas by ``$id``, so cross-file ``$ref``s resolve offline."""
    import referencing
    from referencing.jsonschema import DRAFT202012

    return referencing.Registry().with_resources(
        (uri, referencing.Resource.from_contents(schema, default_specification=DRAFT202012))
        for uri, schema in schemas.items()
    )


@functools.cache
def schema_registry() -> referencing.Registry[Any]:
    """The shipped schemas as written. Pattern parameters use it: they name no registry-owned
    choices (file kinds do, and use ``filekinds.schema_registry`` with those filled in)."""
    schemas = [load_schema(stem) for stem in schema_stems()]
    return registry_of({str(schema["$id"]): schema for schema in schemas if "$id" in schema})


def surely_valid(schema: Mapping[str, Any], instance: Any) -> bool:
    """Whether the compiled (Rust) validator finds ``instance`` valid under ``schema`` (with the shipped schemas
    as written for ``$ref``s): most are, and only the rest need python-jsonschema, for its words. False also
    when the schema does not compile there, so python-jsonschema decides."""
    try:
        return bool(_compiled(json.dumps(schema, sort_keys=True)).is_valid(instance))
    except Exception:   # a schema or value the Rust validator cannot take: the caller asks python-jsonschema
        return False


@functools.lru_cache(maxsize=256)
def _compiled(schema_text: str) -> Any:
    import jsonschema_rs

    schemas = [load_schema(stem) for stem in schema_stems()]
    registry = jsonschema_rs.Registry([(str(s["$id"]), s) for s in schemas if "$id" in s])
    return jsonschema_rs.validator_for(json.loads(schema_text), registry=registry, offline=True)
