"""Writing output folders atomically, and checking them without writing.

A render's files are built as a mapping ``relative path → OutFile`` first; nothing
touches the disk until everything rendered and validated. Then the new folder is built
beside the old one and swapped in with renames, so a reader sees the old tree or the
new one, never half. manifestkit records what it wrote in ``.manifestkit-files.json``
and only ever removes files listed there: anything else in the folder is carried over.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

LEDGER = ".manifestkit-files.json"


class OutFile(NamedTuple):
    data: bytes
    mode: int = 0o644


Files = Mapping[str, OutFile]


def _in_scope(rel: str, scope: Sequence[str]) -> bool:
    return not scope or any(rel == s or rel.startswith(s.rstrip("/") + "/") for s in scope)


def _ledger(target: Path) -> set[str]:
    try:
        return set(json.loads((target / LEDGER).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return set()


def stale_files(target: Path, files: Files, scope: Sequence[str] = ()) -> list[str]:
    """Files manifestkit wrote earlier, inside ``scope``, that this render no longer makes."""
    return sorted(rel for rel in _ledger(target) if _in_scope(rel, scope) and rel not in files
                  and (target / rel).exists())


def check_tree(target: Path, files: Files, scope: Sequence[str] = ()) -> list[str]:
    """What is out of date in ``target``: one line per file, nothing written."""
    out = []
    for rel in sorted(files):
        path = target / rel
        if not path.is_file():
            out.append(f"missing: {path}")
        elif path.read_bytes() != files[rel].data:
            out.append(f"changed: {path}")
    out.extend(f"stale: {target / rel}" for rel in stale_files(target, files, scope))
    return out


def write_tree(target: Path, files: Files, scope: Sequence[str] = ()) -> list[str]:
    """Replace ``target`` with ``files`` (keeping every file manifestkit did not write
    and everything outside ``scope``); returns the relative paths written."""
    target = target.resolve()
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    stale = set(stale_files(target, files, scope))
    old_ledger = _ledger(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=parent))
    try:
        if target.is_dir():
            _carry_over(target, staging, skip=stale | set(files) | {LEDGER})
        for rel, out in sorted(files.items()):
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, out.mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(out.data)
            os.chmod(path, out.mode)
        ledger = sorted((old_ledger - stale) | set(files))
        (staging / LEDGER).write_text(json.dumps(ledger, indent=1) + "\n", encoding="utf-8")
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(files)


def _carry_over(source: Path, dest: Path, skip: set[str]) -> None:
    """Hard-link (or copy) every file of ``source`` not in ``skip`` into ``dest``."""
    for dirpath, dirnames, filenames in os.walk(source):
        rel_dir = Path(dirpath).relative_to(source)
        (dest / rel_dir).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            rel = (rel_dir / name).as_posix()
            if rel in skip:
                continue
            try:
                os.link(Path(dirpath) / name, dest / rel)
            except OSError:
                shutil.copy2(Path(dirpath) / name, dest / rel)
        for name in list(dirnames):
            if os.path.islink(Path(dirpath) / name):
                os.symlink(os.readlink(Path(dirpath) / name), dest / rel_dir / name)
                dirnames.remove(name)


def _swap(staging: Path, target: Path) -> None:
    if not target.exists():
        os.rename(staging, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rmdir(old)
    os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old, ignore_errors=True)
