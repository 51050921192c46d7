"""What `manifestkit validate` checks: the objects of files, folders, stdin and documents, each with its location.

A file's YAML problems are findings, not a stop: under ``--strict`` a duplicate key is an
error, otherwise a warning, and the file is read again the lenient way so its objects are
still checked.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from manifestkit import yamlio
from manifestkit.diagnostics import ERROR, WARNING, Diagnostic, ManifestkitError
from manifestkit.yamlio import Document, load_documents

SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "<stdin>"
SOPS_KEY = "sops"


class Unit(NamedTuple):
    """One object to check and where it is: its document and its path in that document."""

    obj: Mapping[str, Any]
    doc: Document | None = None
    prefix: tuple[str | int, ...] = ()
    file: str = ""
    encrypted: bool = False


def units_of(objects: Iterable[Any]) -> Iterator[Unit]:
    """The units of library input: plain mappings, yamlio Documents or pipeline Resources."""
    for item in objects:
        if isinstance(item, Document):
            yield from units_of_document(item)
        elif isinstance(item, Mapping):
            yield Unit(item)
        elif isinstance(getattr(item, "obj", None), Mapping):   # a pipeline Resource
            yield Unit(item.obj)
        else:
            raise TypeError(f"expected a mapping or a Document, found {type(item).__name__}")


def units_of_document(doc: Document) -> Iterator[Unit]:
    """One unit per object of a document: the document itself, or each item of a ``kind: List``."""
    data = doc.data
    encrypted = isinstance(data, Mapping) and isinstance(data.get(SOPS_KEY), Mapping)
    items = data.get("items") if isinstance(data, Mapping) and data.get("kind") == "List" else None
    if isinstance(items, list):
        for index, item in enumerate(items):
            yield Unit(item if isinstance(item, Mapping) else {}, doc, ("items", index), doc.file, encrypted)
    else:
        yield Unit(data if isinstance(data, Mapping) else {"": data}, doc, (), doc.file, encrypted)


def expand_paths(paths: Sequence[str]) -> tuple[list[str], list[Diagnostic]]:
    """Files to read: files as given, folders searched recursively for *.yaml|*.yml|*.json."""
    files: list[str] = []
    problems: list[Diagnostic] = []
    for path in paths:
        if path == "-":
            files.append(path)
        elif os.path.isdir(path):
            found = sorted(
                str(p)
                for p in Path(path).rglob("*")
                if p.suffix in SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") and part not in (".", "..") for part in p.relative_to(path).parts)
            )
            files.extend(found)
        elif os.path.isfile(path):
            files.append(path)
        else:
            problems.append(Diagnostic(message="file not found", file=path, hint="give files, folders or - for stdin"))
    return files, problems


def read_paths(files: Sequence[str], strict: bool, stdin: str = "") -> tuple[list[Unit], list[Diagnostic]]:
    """The units of expanded files (``-`` reads ``stdin``), and every file's read and YAML problems as findings."""
    units: list[Unit] = []
    findings: list[Diagnostic] = []
    for file in files:
        if file == "-":
            text, display = stdin, STDIN
        else:
            try:
                text = Path(file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                findings.append(
                    Diagnostic(message=f"cannot read file: {exc.__class__.__name__}", file=file, rule="yaml")
                )
                continue
            display = file
        found, yaml_problems = read_units(text, display, strict)
        units.extend(found)
        findings.extend(yaml_problems)
    return units, findings


def read_units(text: str, file: str, strict: bool) -> tuple[list[Unit], list[Diagnostic]]:
    """The objects of one file, and its YAML problems as findings.

    Duplicate keys are errors under --strict and warnings otherwise; the file is then
    read again the lenient way (last key wins) so its objects are still checked.
    """
    try:
        docs = load_documents(text, file)
    except ManifestkitError as exc:
        problems = [_yaml_finding(d, strict) for d in exc.diagnostics]
        return _lenient_units(text, file), problems
    return [u for doc in docs for u in units_of_document(doc)], []


def _yaml_finding(d: Diagnostic, strict: bool) -> Diagnostic:
    if d.message.startswith("duplicate key"):
        return dataclasses.replace(d, rule="duplicate-key", severity=ERROR if strict else WARNING)
    return dataclasses.replace(d, rule="yaml", severity=ERROR)


def _lenient_units(text: str, file: str) -> list[Unit]:
    """The documents of a file the strict loader refused (its problems are already reported)."""
    documents, _ = yamlio.load_documents_lenient(text, file)
    return [unit for document in documents for unit in units_of_document(document)]
