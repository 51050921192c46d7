"""What a write would change, read from disk before touching it: files to write or leave, stale files to remove or
keep.

A file the last write stamped (:class:`~manifestkit.writer.records.Stamps`) whose stat is still the stamped one and
whose new bytes have the stamped sha256 is unchanged without being read; every other file is read and compared."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path

from manifestkit.diagnostics import Diagnostic
from manifestkit.writer.ledger import Ledger, is_ours
from manifestkit.writer.paths import FILE, FOLDER, LINK, MISSING, lookup, lookup_stat, read_file, shown
from manifestkit.writer.records import Files, Stamp, Stamps

NO_LINKS = "manifestkit never writes through links"


@dataclass(frozen=True, slots=True, kw_only=True)
class Changes:
    """A write's plan. ``adopt``: files at new paths that manifestkit did not write, overwritten
    because of ``force``; they join the ledger only once written."""

    write: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    forget: tuple[str, ...] = ()      # stale entries dropped from the ledger: the file is gone or kept
    adopt: frozenset[str] = frozenset()
    problems: tuple[Diagnostic, ...] = ()
    stamps: Stamps = field(default_factory=Stamps)   # the unchanged public files, stamped for the next write


def in_scope(rel: str, scope: Sequence[str]) -> bool:
    return not scope or any(rel == s or rel.startswith(s.rstrip("/") + "/") for s in scope)


def plan_changes(root: Path, files: Files, scope: Sequence[str], ledger: Ledger, force: bool,
                 known: Set[str] | None = None, trusted: Stamps | None = None, taken: int = 0) -> Changes:
    """Sort every output path into write/unchanged (or a problem), every stale ledger entry in
    ``scope`` into remove/kept/forget. Reads only; a link is looked at, never followed. ``known``:
    the files manifestkit wrote, which it may overwrite (default: those of ``ledger``). ``trusted``:
    the last write's stamps; ``taken``: the file system's clock before this plan looked at any file."""
    known = ledger.keys() if known is None else known
    trusted = trusted or Stamps()
    stamps: dict[str, Stamp] = {}
    seen: dict[str, str] = {}
    write: list[str] = []
    unchanged: list[str] = []
    adopt: set[str] = set()
    problems: dict[tuple[str, str], Diagnostic] = {}
    base = f"{os.fspath(root)}/"
    for rel, out in sorted(files.items()):
        kind, blocker, info = lookup_stat(root, rel, seen)
        if blocker or kind not in (FILE, MISSING):
            problem = _in_the_way(root, blocker or rel, kind, bool(blocker))
            problems.setdefault((problem.file, problem.message), problem)
            continue
        if kind == MISSING:
            write.append(rel)
            continue
        if rel not in known:
            if not force:
                problem = Diagnostic(
                    message="found a file manifestkit did not write; refusing to overwrite it",
                    file=shown(root, rel),
                    hint="move it away, or render with --force to overwrite it",
                )
                problems[(problem.file, problem.message)] = problem
                continue
            adopt.add(rel)
        if info is None:
            raise FileNotFoundError(base + rel)   # lookup_stat gives a FILE its stat
        if out.private:
            same = not info.st_mode & 0o077 and read_file(base + rel, size=len(out.data)) == out.data
        else:
            stamp = _stamp(info, hashlib.sha256(out.data).hexdigest())
            same = (trusted.files.get(rel) == stamp and _settled(info, trusted.taken)) \
                or read_file(base + rel, size=len(out.data)) == out.data
            if same and _settled(info, taken):
                stamps[rel] = stamp
        (unchanged if same else write).append(rel)
    remove, kept, forget = stale(root, files, scope, ledger, seen)
    return Changes(write=tuple(write), unchanged=tuple(unchanged), remove=tuple(remove), kept=tuple(kept),
                   forget=tuple(forget), adopt=frozenset(adopt), problems=tuple(problems.values()),
                   stamps=Stamps(taken=taken, files=stamps))


def _stamp(info: os.stat_result, sha256: str) -> Stamp:
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev, sha256


def _settled(info: os.stat_result, taken: int) -> bool:
    """Whether the file's last change is older than ``taken``: a change after it gives another mtime or ctime."""
    return info.st_mtime_ns < taken and info.st_ctime_ns < taken


def stale(root: Path, files: Files, scope: Sequence[str], ledger: Ledger,
          seen: dict[str, str] | None = None) -> tuple[list[str], list[str], list[str]]:
    """Ledger entries in ``scope`` that ``files`` no longer has, as ``(remove, kept, forget)``:
    removed when the bytes are still the ones manifestkit wrote, kept when edited since (or
    replaced by something that is not a file); every one but those removed is forgotten."""
    seen = {} if seen is None else seen
    remove: list[str] = []
    kept: list[str] = []
    forget: list[str] = []
    for rel in sorted(ledger):
        if rel in files or not in_scope(rel, scope):
            continue
        kind, blocker = lookup(root, rel, seen)
        data = read_file(root / rel) if kind == FILE and not blocker else None
        if data is not None and is_ours(ledger, rel, data, os.lstat(root / rel)):
            remove.append(rel)
            continue
        if kind != MISSING:
            kept.append(rel)
        forget.append(rel)
    return remove, kept, forget


def interim_ledger(ledger: Ledger, marks: Mapping[str, str], changes: Changes) -> Ledger:
    """The ledger written before any file is renamed into place: the old one plus, for each file
    about to be, its new fingerprint (``marks``) beside the old. A kill at any later point leaves
    every file it lists old or new, and each accounted for."""
    return _Interim(ledger, marks, frozenset(rel for rel in changes.write if rel not in changes.adopt))


class _Interim(Mapping[str, frozenset[str]]):
    """:func:`interim_ledger` as a view, each entry made when it is read: the ledger is written
    once, and a copy of a big one with a new set per file would double what the write holds."""

    def __init__(self, ledger: Ledger, marks: Mapping[str, str], fresh: frozenset[str]) -> None:
        self._ledger, self._marks, self._fresh = ledger, marks, fresh

    def __getitem__(self, rel: str) -> frozenset[str]:
        if rel in self._fresh:
            return self._ledger.get(rel, frozenset()) | {self._marks[rel]}
        return self._ledger[rel]

    def __iter__(self) -> Iterator[str]:
        yield from self._ledger
        yield from (rel for rel in self._fresh if rel not in self._ledger)

    def __len__(self) -> int:
        return len(self._ledger) + sum(1 for rel in self._fresh if rel not in self._ledger)


def final_ledger(ledger: Ledger, marks: Mapping[str, str], changes: Changes) -> dict[str, frozenset[str]]:
    """The ledger once every file is written and every stale one removed (``marks``: the
    fingerprint of every output file)."""
    gone = {*changes.remove, *changes.forget}
    out = {rel: known for rel, known in ledger.items() if rel not in gone}
    out.update((rel, frozenset({mark})) for rel, mark in marks.items())
    return out


def _in_the_way(root: Path, rel: str, kind: str, on_the_way: bool) -> Diagnostic:
    expected = "a folder" if on_the_way else "a file"
    if kind == LINK:
        return Diagnostic(message=f"found {LINK}; expected {expected} ({NO_LINKS})", file=shown(root, rel),
                          hint="replace the link with a real folder, or render to another folder")
    if kind == FOLDER:
        return Diagnostic(message=f"found {FOLDER}; expected a file manifestkit writes", file=shown(root, rel),
                          hint="move the folder away")
    return Diagnostic(message=f"found {kind}; expected {expected}", file=shown(root, rel), hint="move it away")
