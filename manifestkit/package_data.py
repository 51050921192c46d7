"""Where the package's data folders are: templates/, overlays/, schemas/.

In a wheel they sit inside the package; in a source checkout (editable install) they sit
beside it at the repository root.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

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
