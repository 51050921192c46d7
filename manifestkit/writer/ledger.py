"""The ledger: which files in the output folder manifestkit wrote, with the sha256 of their bytes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.writer.paths import read_file, shown

LEDGER = ".manifestkit-files.json"

# relative path → the digests its bytes may have. One digest normally; two while a write is under
# way (old and new, so a kill between the two leaves either accounted for); none for an entry an
# older manifestkit wrote, which listed names only.
Ledger = Mapping[str, frozenset[str]]


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_ledger(root: Path) -> dict[str, frozenset[str]]:
    """The ledger of ``root``; empty when there is none."""
    raw = read_file(root / LEDGER)
    if raw is None:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise _unreadable(root, f"found invalid JSON ({exc})") from exc
    if isinstance(data, list) and all(isinstance(rel, str) for rel in data):
        return {rel: frozenset() for rel in data}
    if isinstance(data, dict):
        entries = {rel: _digests(value) for rel, value in data.items()}
        if all(value is not None for value in entries.values()):
            return {rel: value for rel, value in entries.items() if value is not None}
    raise _unreadable(root, "found JSON of another shape")


def ledger_bytes(ledger: Ledger) -> bytes:
    """The ledger as written: sorted, one digest as a string, several (or none) as a list."""
    body = {rel: next(iter(ledger[rel])) if len(ledger[rel]) == 1 else sorted(ledger[rel]) for rel in sorted(ledger)}
    return (json.dumps(body, indent=1) + "\n").encode("utf-8")


def is_ours(ledger: Ledger, rel: str, data: bytes) -> bool:
    """Whether ``data`` at ``rel`` is bytes manifestkit wrote there (any, for an old name-only entry)."""
    digests = ledger.get(rel)
    return digests is not None and (not digests or digest(data) in digests)


def _digests(value: object) -> frozenset[str] | None:
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    return None


def _unreadable(root: Path, found: str) -> ManifestkitError:
    return ManifestkitError([Diagnostic(f"{found}; expected manifestkit's ledger of the files it wrote here",
                                        file=shown(root, LEDGER),
                                        hint="delete it and render with --force: manifestkit then owns every file it makes")])
