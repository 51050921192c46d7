"""A loaded sops file split into its data and its ``sops`` metadata, shared by every format loader."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from manifestkit.diagnostics import Diagnostic, ManifestkitError


class Loaded(NamedTuple):
    """An encrypted file split into its data and its raw ``sops`` metadata."""

    data: dict[str, Any]
    metadata: dict[str, Any]


class SopsDocument(NamedTuple):
    """A decrypted file: plain tree (strings are SecretStr), its MAC as a version, and its format (how sops prints
    it)."""

    tree: Any
    mac: str
    lastmodified: str
    path: str
    fmt: str = "yaml"


def fail(message: str, file: str, hint: str = "") -> ManifestkitError:
    return ManifestkitError([Diagnostic(message=message, file=file, hint=hint)])


def fail_at(message: str, file: str, path: Sequence[str] = (), hint: str = "") -> ManifestkitError:
    """An error at a key path inside the file (never quoting a value)."""
    return ManifestkitError([Diagnostic(message=message, file=file, path=".".join(path), hint=hint)])


def str_key(key: Any, path: list[str], file: str) -> str:
    if not isinstance(key, str):
        raise fail_at(f"mapping key of type {type(key).__name__}: sops files have string keys only", file, path)
    return key


def split_metadata(doc: Any, file: str) -> Loaded:
    if not isinstance(doc, dict):
        raise fail(f"expected a mapping at the top of the file, found {type(doc).__name__}", file)
    metadata = doc.get("sops")
    if not isinstance(metadata, dict):
        raise fail("sops metadata not found: the file has no top-level 'sops' map", file,
                   "is this file encrypted with sops?")
    return Loaded({k: v for k, v in doc.items() if k != "sops"}, metadata)


def utf8_text(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise fail("the file is not UTF-8 text", file) from None


TAMPERED = "the file was modified after encryption or is corrupt"
RESTORE = "restore the file from version control, or re-encrypt it with sops from a trusted copy"
