"""SOPS formats: the registry of file loaders (YAML, JSON, dotenv, INI, binary) and the extensions that pick them.

Each store mirrors what the sops tool does for its format (getsops/sops ``stores/``): YAML
(:mod:`.sops_yaml`) and JSON keep the document's own structure with a top-level ``sops``
map, dotenv and INI flatten it (:mod:`.sops_flat`), binary files are JSON with the whole
file in one ``data`` value. Values and rules live in :mod:`.sops_values`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError, one_of
from manifestkit.secrets.sops_flat import load_dotenv, load_ini
from manifestkit.secrets.sops_tree import Loaded, fail, split_metadata, utf8_text
from manifestkit.secrets.sops_yaml import load_yaml, to_yaml

__all__ = ["EXTENSIONS", "LOADERS", "Loaded", "to_yaml"]


def _load_json_data(data: bytes, file: str) -> Any:
    try:
        return json.loads(utf8_text(data, file), parse_int=float)  # sops (Go) reads every JSON number as float64
    except json.JSONDecodeError as exc:  # its msg never quotes the document
        raise ManifestkitError(
            [Diagnostic(message=f"invalid JSON: {exc.msg}", file=file, line=exc.lineno, column=exc.colno)]
        ) from None
    except (ValueError, RecursionError) as exc:
        raise fail(f"invalid JSON: {exc.__class__.__name__}", file) from None


def load_json(data: bytes, file: str) -> Loaded:
    return split_metadata(_load_json_data(data, file), file)


def load_binary(data: bytes, file: str) -> Loaded:
    loaded = load_json(data, file)
    if set(loaded.data) != {"data"}:
        raise fail(f"a sops binary file holds one 'data' key; found: {one_of(loaded.data)}", file)
    return loaded



LOADERS: dict[str, Callable[[bytes, str], Loaded]] = {
    "yaml": load_yaml,
    "json": load_json,
    "dotenv": load_dotenv,
    "ini": load_ini,
    "binary": load_binary,
}

EXTENSIONS: dict[str, str] = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".env": "dotenv", ".ini": "ini"}
