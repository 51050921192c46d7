"""The render cache on disk: content-addressed JSON entries, checked by their digests, trusted only when sound.

A render keeps its entries of one kind (App files, apps, lint findings, emitted files) in a *pack*: the file
``<dir>/v2/<kind>/<name[:2]>/<name>.json`` named for the project, environment and shard, a header line naming the
format, then one line per entry: the sha256 of its JSON, its content key, its JSON (:mod:`manifestkit.cache_json`:
what is read is what was written). A render reads and writes one file instead of thousands, decodes only the entries
it takes and lets go of each line once decoded (a whole write reads the lines it kept from the file again), and
makes the lines of its new entries one at a time as it writes them, so no render holds its objects twice. A render
whose pack was sound appends only its new lines (a key's last line is its entry), while the pack stays at most twice
what it used and made; else it writes the pack whole, with only those, so the cache never grows much beyond what the
last renders need. An entry whose line is anything else than what was written (torn, truncated, edited, foreign,
another format) is a miss: the caller renders again, and its write replaces the pack whole. A whole write goes to a
temp file beside the pack and is renamed over it, so a reader sees the old pack or the new, never half of one; an
append cut short leaves a torn last line, a miss. Nothing stored is secret: the callers store only what they proved
holds no resolved value (:mod:`manifestkit.render_incremental`).

The folder is ``--cache-dir``, else ``MANIFESTKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/manifestkit``, else
``~/.cache/manifestkit``; never the output folder or a folder inside it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manifestkit.cache_json import dump_body, load_body
from manifestkit.diagnostics import Diagnostic, ManifestkitError, display_path

FORMAT = "v2"     # v2: orjson bodies
HEADER = f"manifestkit-cache {FORMAT}"
ENV_VAR = "MANIFESTKIT_CACHE_DIR"
TEMP_PREFIX = ".tmp-"


@dataclass(frozen=True, slots=True, kw_only=True)
class Cache:
    """An open cache folder."""

    root: Path


def cache_dir(option: str | None, environ: Mapping[str, str]) -> Path:
    """Where the cache lives: ``--cache-dir``, ``MANIFESTKIT_CACHE_DIR``, ``$XDG_CACHE_HOME/manifestkit``,
    ``~/.cache/manifestkit``, the first one given."""
    if option:
        return Path(option)
    if environ.get(ENV_VAR):
        return Path(environ[ENV_VAR])
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]) / "manifestkit"
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    return home / ".cache" / "manifestkit"


def open_cache(folder: Path, output: Path) -> Cache:
    """The cache in ``folder``, which may not be the output folder ``output`` or inside it: the writer owns every
    file there, and ``render --check`` would call the entries stale."""
    where, out = folder.resolve(), output.resolve()
    if where == out or out in where.parents:
        raise ManifestkitError(
            [
                Diagnostic(
                    message=f"the render cache {display_path(folder)} is inside the output folder "
                    f"{display_path(output)}; expected a folder outside it",
                    hint=f"pass --cache-dir to a folder outside {display_path(output)} (or unset {ENV_VAR}), "
                    "or render with --no-cache",
                )
            ]
        )
    return Cache(root=where)


def key_of(*parts: str) -> str:
    """The sha256 of ``parts``, each length-prefixed so no two lists of parts share a key."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogateescape")
        digest.update(f"{len(data)}:".encode())
        digest.update(data)
    return digest.hexdigest()


def _path(cache: Cache, kind: str, key: str) -> Path:
    return cache.root / FORMAT / kind / key[:2] / f"{key}.json"


def _write(cache: Cache, path: Path, parts: Iterable[bytes]) -> None:
    """``parts``, one after another, into ``path`` at once: a temp file beside it, renamed over it (never joined
    first: a pack of 10,000 apps' objects is tens of MB)."""
    if not path.parent.is_dir():
        cache.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(6)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.writelines(parts)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@dataclass(frozen=True, slots=True, kw_only=True)
class Later:
    """Entries made only as their pack is written (:func:`keep_later`), one line at a time: a render's thousands of
    objects are never held twice, once as data and once as the lines of the pack."""

    keys: tuple[str, ...]
    bodies: Callable[[], Iterable[Any]]     # each key's body, in the order of ``keys``; may be called again


@dataclass(frozen=True, slots=True, kw_only=True)
class Pack:
    """The entries of one kind that a render reads and writes together, one file of one line each: those it found
    and has not taken yet (raw, each checked against its own digest when taken), and those it used or made
    (written back by :func:`save_pack` when they differ from what was found)."""

    kind: str
    name: str
    path: Path                                          # its file
    found: dict[str, bytes]                             # key → its line as read (the last one of the key), until taken
    kept: dict[str, bytes | int] = field(default_factory=dict)   # key → its line to write, or the length of the
    #                                                     line found (read from the file again if it is written whole)
    later: list[Later] = field(default_factory=list)    # entries made as the pack is written
    size: int = 0                                       # the bytes of the file, when every line of it looked whole
    damaged: list[str] = field(default_factory=list)    # keys whose line was not what was written


def open_pack(cache: Cache, kind: str, *names: str) -> Pack:
    """The pack of ``kind`` named by ``names`` (project, environment, shard...); empty when there is none."""
    name = key_of(kind, *names)
    path = _path(cache, kind, name)
    found, size = _read_pack(path, _header(kind, name))
    return Pack(kind=kind, name=name, path=path, found=found, size=size)


def _header(kind: str, name: str) -> bytes:
    return f"{HEADER} pack {kind} {name}".encode()


def _read_pack(path: Path, header: bytes) -> tuple[dict[str, bytes], int]:
    """The lines of the pack ``path`` by key, and its size when every line of it looked whole (else 0)."""
    found: dict[str, bytes] = {}
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError:
        raw = b""
    top, _, rest = raw.partition(b"\n")
    whole = top == header
    if whole and rest:
        for line in rest.split(b"\n"):
            parts = line.split(b" ", 2)
            if len(parts) == 3 and len(parts[0]) == DIGEST:
                found[parts[1].decode("utf-8", "replace")] = line
            else:
                whole = False
    return found, len(raw) if whole else 0


DIGEST = 64     # hex digits of a sha256


def take(pack: Pack, key: str) -> Any | None:
    """The entry ``key`` of ``pack`` (kept for the next render), or None when it has none that is whole. Its line is
    let go once read: a warm render at N = 10,000 would otherwise hold some 100 MB of lines beside their data."""
    line = pack.found.pop(key, None)
    if line is None and type(pack.kept.get(key)) is int:    # taken before: the lines taken are read again
        pack.found.update(_found_again(pack, [k for k, v in pack.kept.items() if type(v) is int]))
        line = pack.found.pop(key, None)
    if line is None:
        return None
    body = memoryview(line)[line.index(b" ", DIGEST + 1) + 1:]     # after the digest and the key
    if hashlib.sha256(body).hexdigest().encode() != line[:DIGEST]:
        pack.damaged.append(key)
        return None
    try:
        value = load_body(body)
    except ValueError:
        pack.damaged.append(key)
        return None
    pack.kept[key] = len(line)
    return value


def _found_again(pack: Pack, keys: Iterable[str]) -> dict[str, bytes]:
    """The lines of ``keys`` in the pack's file as it is now (a line that is gone or changed is left out)."""
    found, _ = _read_pack(pack.path, _header(pack.kind, pack.name))
    wanted = set(keys)
    return {key: line for key, line in found.items() if key in wanted and len(line) == pack.kept.get(key)}


def keep(pack: Pack, key: str, body: Any) -> None:
    """Store ``body`` under ``key`` in ``pack``: plain JSON data, what :func:`exact_json` accepts (a tuple is
    written as a list; orjson would write a NaN as null: the callers check what they did not make themselves)."""
    pack.kept[key] = _line(key, body)


def keep_later(pack: Pack, keys: Sequence[str], bodies: Callable[[], Iterable[Any]]) -> None:
    """Store the entries ``keys`` in ``pack``, their bodies (as :func:`keep` takes them) made by ``bodies`` only
    while the pack is written."""
    if keys:
        pack.later.append(Later(keys=tuple(keys), bodies=bodies))


def _line(key: str, body: Any) -> bytes:
    data = dump_body(body)
    return b"%s %s %s" % (hashlib.sha256(data).hexdigest().encode(), key.encode(), data)


def _later_lines(pack: Pack) -> Iterator[bytes]:
    for later in pack.later:
        for key, body in zip(later.keys, later.bodies(), strict=True):
            yield _line(key, body)


def save_pack(cache: Cache, pack: Pack) -> None:
    """Write what the render used or made, unless it is what was found: the new lines appended when the pack was
    sound and stays at most twice its size written whole, else the pack whole; then let go of its lines (the pack
    is done). OSError when the folder cannot be written."""
    try:
        _save(cache, pack)
    finally:
        pack.found.clear()
        pack.kept.clear()
        pack.later.clear()


def _save(cache: Cache, pack: Pack) -> None:
    path, header = pack.path, _header(pack.kind, pack.name)
    later = {key for item in pack.later for key in item.keys}
    if not pack.found and not later and not pack.damaged and all(type(v) is int for v in pack.kept.values()):
        return      # every entry found was taken, none made: the pack is as it was
    old = {key: value for key, value in pack.kept.items() if key not in later}
    if pack.size and not pack.damaged:   # a sound pack was found: perhaps only the new lines need appending
        added, made = _append(path, [v for v in old.values() if isinstance(v, bytes)], _later_lines(pack))
        whole = len(header) + sum(v if isinstance(v, int) else len(v) for v in old.values()) + made + len(old) + \
            len(later)
        if added is not None and pack.size + added <= 2 * whole:
            return
    again = _found_again(pack, [k for k, v in old.items() if type(v) is int])
    lines = [line for key in sorted(old) if (line := _line_of(old[key], again.get(key)))]
    _write(cache, path, _lines(header, lines, _later_lines(pack)))


def _line_of(kept: bytes | int, again: bytes | None) -> bytes | None:
    return kept if isinstance(kept, bytes) else again


def _lines(header: bytes, lines: Iterable[bytes], *more: Iterable[bytes]) -> Iterator[bytes]:
    yield header
    for some in (lines, *more):
        for line in some:
            yield b"\n"
            yield line


def _append(path: Path, lines: Iterable[bytes], *more: Iterable[bytes]) -> tuple[int | None, int]:
    """``lines`` then ``more`` at the end of the pack ``path``, one by one: the bytes added (None when there is no
    pack there to append to) and the bytes of ``more``'s lines."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, sum(len(line) for some in more for line in some)
    added = made = 0
    with os.fdopen(fd, "wb") as handle:
        for line in lines:
            handle.write(b"\n" + line)
            added += len(line) + 1
        for some in more:
            for line in some:
                handle.write(b"\n" + line)
                added, made = added + len(line) + 1, made + len(line)
    return added, made
