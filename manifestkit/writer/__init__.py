"""Writing output folders file by file like a good citizen, and checking them without writing.

A render's files are built as a mapping ``relative path → OutFile`` first; nothing touches the
disk until everything rendered and validated. Then, holding a lock on the folder, each file whose
bytes changed is replaced atomically (temp file beside it, fsync, rename); unchanged files are
not touched; the folder itself is never replaced. Every path is checked name by name and no
link inside the folder is ever followed. manifestkit records what it wrote, with a sha256 of
each file, in ``.manifestkit-files.json``; it overwrites only files listed there (unless
``force``) and removes a stale file only while it still holds the bytes manifestkit wrote.

The order makes a kill at any moment safe: every new file staged as a synced temp file beside
its place; a ledger listing old and new fingerprints of each; the renames; the stale removals;
the final ledger. The next write removes any temp file a kill left.

A write returns the stamps of the files it left unchanged (:class:`~manifestkit.writer.records.Stamps`); the next
write given them (``trusted``) does not read a file whose stat and new bytes' hash are the stamped ones.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.writer.disk import (
    TEMP_PREFIX,
    clean_temps,
    commit,
    discard,
    located,
    put,
    remove,
    stage,
    sync_all,
    sync_folders,
)
from manifestkit.writer.ledger import (
    LEDGER,
    Ledger,
    fingerprint,
    fingerprint_at,
    known_files,
    ledger_parts,
    read_ledger,
)
from manifestkit.writer.lock import LOCK_TIMEOUT, folder_lock
from manifestkit.writer.paths import (
    DIR_FLAGS,
    FILE,
    FOLDER,
    MISSING,
    Folders,
    lkind,
    lookup,
    path_problems,
    read_file,
    shown,
)
from manifestkit.writer.plan import final_ledger, interim_ledger, plan_changes, stale
from manifestkit.writer.records import PRIVATE_MODE, PUBLIC_MODE, Files, OutFile, Stamps, WriteResult

__all__ = ["LEDGER", "PRIVATE_MODE", "PUBLIC_MODE", "Files", "OutFile", "Stamps", "WriteResult", "check_tree",
           "report_lines", "stale_files", "write_tree"]

RESERVED = frozenset({LEDGER})


def write_tree(target: Path, files: Files, scope: Sequence[str] = (), *, force: bool = False,
               lock_timeout: float = LOCK_TIMEOUT, ledger: str = LEDGER, trusted: Stamps | None = None) -> WriteResult:
    """Bring ``target`` up to date with ``files``: write what changed, remove what manifestkit
    wrote inside ``scope`` and no longer makes, leave everything else alone. ``force`` lets it
    overwrite files at output paths that manifestkit did not write. ``ledger``: the ledger this
    write keeps (a shard of a render keeps its own: it removes only files it wrote itself, and
    overwrites what any ledger of the folder lists). ``trusted``: the stamps the last write of ``target`` returned
    (kept by the caller where no one else writes)."""
    _check_paths(target, files, ledger)
    root_fd = _open_root(target)
    try:
        with located(target), folder_lock(root_fd, target, lock_timeout):
            return _write_locked(target, root_fd, files, scope, force, ledger, trusted)
    finally:
        os.close(root_fd)


def check_tree(target: Path, files: Files, scope: Sequence[str] = (), ledger: str = LEDGER) -> list[str]:
    """What is out of date in ``target``: one line per file, nothing written (stale: by ``ledger``)."""
    _check_paths(target, files, ledger)
    if _root_kind(target) == MISSING:
        return [f"missing: {target / rel}" for rel in sorted(files)]
    seen: dict[str, str] = {}
    out = []
    for rel in sorted(files):
        kind, blocker = lookup(target, rel, seen)
        if kind == MISSING:
            out.append(f"missing: {target / rel}")
        elif blocker or kind != FILE or read_file(target / rel, size=len(files[rel].data)) != files[rel].data:
            out.append(f"changed: {target / rel}")
    out.extend(f"stale: {target / rel}" for rel in stale_files(target, files, scope, ledger))
    return out


def stale_files(target: Path, files: Files, scope: Sequence[str] = (), ledger: str = LEDGER) -> list[str]:
    """Files manifestkit wrote earlier, inside ``scope``, that this render no longer makes and
    would remove (those edited since are kept, so they are not listed)."""
    if _root_kind(target) == MISSING:
        return []
    return stale(target, files, scope, read_ledger(target, ledger))[0]


def report_lines(target: Path, result: WriteResult) -> list[str]:
    """What a write did, for people: each file removed or kept, then the counts."""
    lines = [f"removed {shown(target, rel)}" for rel in result.removed]
    lines += [
        f"kept {shown(target, rel)}: not the bytes manifestkit wrote there; no longer managed" for rel in result.kept
    ]
    return [*lines, f"{result.summary()} in {shown(target)}"]


def _write_locked(target: Path, root_fd: int, files: Files, scope: Sequence[str], force: bool,
                  name: str, trusted: Stamps | None) -> WriteResult:
    taken = _fs_clock()
    ledger = read_ledger(target, name)
    folders = Folders(root_fd)
    base = f"{os.fspath(target)}/"
    staged: dict[str, tuple[str, str]] = {}    # path -> (its folder, the temp file there)
    try:
        clean_temps(folders, ["", *(rel.rpartition("/")[0] for rel in (*ledger, *files))])
        changes = plan_changes(target, files, scope, ledger, force, known_files(target, ledger, name), trusted, taken)
        if changes.problems:
            raise ManifestkitError(changes.problems)
        sums = changes.stamps.files
        marks = {rel: f"sha256:{sums[rel][5]}" if rel in sums else fingerprint_at(files[rel].data, files[rel].private,
                                                                                  base + rel)
                 for rel in changes.unchanged}
        marks.update(_stage(target, folders, files, changes.write, staged))
        if staged:   # removals alone need no interim ledger: listing a removed file is harmless
            _put_ledger(target, root_fd, interim_ledger(ledger, marks, changes), name)
        _commit(target, folders, staged, changes.remove)
        final = final_ledger(ledger, marks, changes)
        if final != ledger:
            _put_ledger(target, root_fd, final, name)
    finally:
        for rel_dir, temp in staged.values():   # what a failure left staged, not renamed
            try:
                discard(folders.open(rel_dir), temp)
            except OSError:   # its folder is gone or was swapped: no temp of ours to remove there
                pass
        folders.close()
    return WriteResult(written=changes.write, unchanged=changes.unchanged, removed=changes.remove, kept=changes.kept,
                       stamps=changes.stamps)


def _fs_clock() -> int:
    """Now as the file system stamps a change (the kernel's coarse clock, which may lag the fine one by a tick):
    whatever is written after this has a later or equal mtime and ctime."""
    coarse = getattr(time, "CLOCK_REALTIME_COARSE", None)
    return time.clock_gettime_ns(coarse) if coarse is not None else time.time_ns() - 1_000_000_000


def _stage(target: Path, folders: Folders, files: Files, write: Sequence[str],
           staged: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Every new file as a synced temp file beside its place (recorded in ``staged``); their fingerprints."""
    marks = {}
    folders_of: dict[str, str] = {}    # one string per folder, not one per file
    for rel in write:
        rel_dir = folders_of.setdefault(part := rel.rpartition("/")[0], part)
        with located(target, rel):
            temp, info = stage(folders.open(rel_dir, create=True), files[rel].data, files[rel].private, sync=False)
        staged[rel] = (rel_dir, temp)
        marks[rel] = fingerprint(files[rel].data, files[rel].private, info)
    if staged:
        with located(target):
            sync_all()   # every temp file durable before the first rename
    return marks


def _commit(target: Path, folders: Folders, staged: dict[str, tuple[str, str]], remove_rels: Sequence[str]) -> None:
    """Rename each staged file into place, then remove the stale ones; make it all durable."""
    for rel in sorted(staged):
        rel_dir, temp = staged.pop(rel)
        with located(target, rel):
            commit(folders.open(rel_dir), temp, rel.rpartition("/")[2])
    for rel in remove_rels:
        with located(target, rel):
            remove(folders, rel)
    with located(target):
        sync_folders(folders)


def _put_ledger(target: Path, root_fd: int, ledger: Ledger, name: str) -> None:
    with located(target, name):
        put(root_fd, name, ledger_parts(ledger), private=False)
        os.fsync(root_fd)


def _check_paths(target: Path, files: Files, ledger: str = LEDGER) -> None:
    problems = path_problems(target, files, RESERVED | {ledger}, TEMP_PREFIX)
    if problems:
        raise ManifestkitError(problems)


def _root_kind(target: Path) -> str:
    """``target``'s kind, an error unless it is a folder or missing: a file, device, fifo or
    link is never replaced by a folder."""
    kind = lkind(target)
    if kind not in (FOLDER, MISSING):
        raise ManifestkitError(
            [
                Diagnostic(
                    message=f"found {kind}; expected a folder to write the output into (nothing was written)",
                    file=shown(target),
                    hint="pass -o a folder, or a path where one can be made",
                )
            ]
        )
    return kind


def _open_root(target: Path) -> int:
    with located(target):
        if _root_kind(target) == MISSING:
            os.makedirs(target, exist_ok=True)   # 0777 less the umask, like mkdir -p
            _root_kind(target)
        return os.open(target, DIR_FLAGS)
