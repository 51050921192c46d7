"""Reading the `objects:` of an App and the `resources:` of a Project: inline objects and files/globs of YAML.

A path is relative to the file that names it (the one rule of docs/files.md), and with the
load restrictor on it must resolve inside the project folder.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from manifestkit.diagnostics import ManifestkitError, display_path, gather
from manifestkit.paths import inside, outside_message
from manifestkit.yamlio import Document, load_file

Where = tuple[str | int, ...]


def object_documents(doc: Document, where: Where, entries: Sequence[Any], root: Path,
                     confine: Path | None) -> tuple[Document, ...]:
    """The documents of every path entry of ``entries`` (a list at ``where`` in ``doc``), in order;
    inline objects are left to the caller, who reads them from the spec."""
    paths = [(i, entry) for i, entry in enumerate(entries) if isinstance(entry, str)]
    docs = gather(paths, lambda item: _documents(doc, (*where, item[0]), item[1], root, confine))
    return tuple(docs)


def _documents(doc: Document, where: Where, pattern: str, root: Path, confine: Path | None) -> list[Document]:
    matches = sorted(glob.glob(str(root / pattern), recursive=True))
    files = [Path(m) for m in matches if Path(m).is_file()]
    if not files:
        folders = [Path(m) for m in matches if Path(m).is_dir()]
        files = sorted(p for f in folders for p in f.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise ManifestkitError(
            [
                doc.diagnostic(
                    where,
                    f"no file matches {pattern!r}",
                    hint=f"paths are relative to the file that names them, here {display_path(root)}/",
                )
            ]
        )
    if confine is not None:
        outside = [p for p in files if not inside(confine, p)]
        if outside:
            raise ManifestkitError([doc.diagnostic(where, *outside_message(pattern, confine))])
    found = [d for path in files for d in load_file(str(path), display_path(path))]
    problems = [d.diagnostic((), "the document is not a Kubernetes object; expected apiVersion, kind and metadata.name")
                for d in found if d.data is not None and not _is_object(d.data)]
    if problems:
        raise ManifestkitError(problems)
    return [d for d in found if d.data is not None]


def _is_object(data: Any) -> bool:
    return (isinstance(data, Mapping) and isinstance(data.get("apiVersion"), str) and isinstance(data.get("kind"), str)
            and isinstance(data.get("metadata"), Mapping) and isinstance(data["metadata"].get("name"), str))
