"""The render cache on disk: content-addressed JSON entries, checked by their digests, trusted only when sound.

A render keeps its entries of one kind (App files, apps, lint findings) in a *pack*: the file
``<dir>/v2/<kind>/<name[:2]>/<name>.json`` named for the project, environment and shard, a header line naming the
format, then one line per entry: the sha256 of its JSON, its content key, its JSON. The JSON is orjson's; a value
orjson cannot write (an int beyond 64 bits, which orjson would also read back as a float) is written by the standard
library's encoder after one space, and a body starting with a space is read back by the standard library's decoder,
so what is read is what was written (the space is inside the digest). A render reads and writes one
file instead of thousands, decodes only the entries it takes, and writes back the lines it kept as they were. A
render whose pack was sound appends only its new lines (a key's last line is its entry), while the pack stays at
most twice what it used and made; else it writes the pack whole, with only those, so the cache never grows much
beyond what the last renders need. An entry whose line is anything else than what was written (torn, truncated,
edited, foreign, another format) is a miss: the caller renders again, and its write replaces the pack whole. A
whole write goes to a temp file beside the pack and is renamed over it, so a reader sees the old pack or the new,
never half of one; an append cut short leaves a torn last line, a miss. Nothing stored is secret: the callers store
only what they proved holds no resolved value (:mod:`manifestkit.render_incremental`).

The folder is ``--cache-dir``, else ``MANIFESTKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/manifestkit``, else
``~/.cache/manifestkit``; never the output folder or a folder inside it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

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


_ORJSON = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _json(body: Any) -> bytes:
    """``body`` as JSON: orjson's, or (for what orjson refuses: an int beyond 64 bits, a str subclass...) a space and
    the standard library's, which refuses what it always did."""
    try:
        return orjson.dumps(body, option=_ORJSON)
    except TypeError:   # orjson.JSONEncodeError
        return b" " + json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _value(body: bytes) -> Any:
    """What :func:`_json` wrote as ``body``; ValueError when it is not JSON."""
    return json.loads(body) if body[:1] == b" " else orjson.loads(body)


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
class Pack:
    """The entries of one kind that a render reads and writes together, one file of one line each: those it found
    (raw, each checked against its own digest when taken), and those it used or made (written back by
    :func:`save_pack` when they differ from what was found)."""

    kind: str
    name: str
    found: Mapping[str, bytes]                          # key → its line as read (the last one of the key)
    kept: dict[str, bytes] = field(default_factory=dict)  # key → its line to write
    size: int = 0                                       # the bytes of the file, when every line of it looked whole
    damaged: list[str] = field(default_factory=list)    # keys whose line was not what was written


def open_pack(cache: Cache, kind: str, *names: str) -> Pack:
    """The pack of ``kind`` named by ``names`` (project, environment, shard...); empty when there is none."""
    name = key_of(kind, *names)
    found: dict[str, bytes] = {}
    try:
        with open(_path(cache, kind, name), "rb") as handle:
            raw = handle.read()
    except OSError:
        raw = b""
    header, _, rest = raw.partition(b"\n")
    whole = header == f"{HEADER} pack {kind} {name}".encode()
    if whole and rest:
        for line in rest.split(b"\n"):
            parts = line.split(b" ", 2)
            if len(parts) == 3 and len(parts[0]) == DIGEST:
                found[parts[1].decode("utf-8", "replace")] = line
            else:
                whole = False
    return Pack(kind=kind, name=name, found=found, size=len(raw) if whole else 0)


DIGEST = 64     # hex digits of a sha256


def take(pack: Pack, key: str) -> Any | None:
    """The entry ``key`` of ``pack`` (kept for the next render), or None when it has none that is whole."""
    line = pack.found.get(key)
    if line is None:
        return None
    digest, _, rest = line.partition(b" ")
    body = rest.partition(b" ")[2]
    if hashlib.sha256(body).hexdigest().encode() != digest:
        pack.damaged.append(key)
        return None
    try:
        value = _value(body)
    except ValueError:
        pack.damaged.append(key)
        return None
    pack.kept[key] = line
    return value


def keep(pack: Pack, key: str, body: Any) -> None:
    """Store ``body`` under ``key`` in ``pack``: plain JSON data, what :func:`exact_json` accepts (a tuple is
    written as a list; orjson would write a NaN as null: the callers check what they did not make themselves)."""
    data = _json(body)
    pack.kept[key] = b"%s %s %s" % (hashlib.sha256(data).hexdigest().encode(), key.encode(), data)


def save_pack(cache: Cache, pack: Pack) -> None:
    """Write what the render used or made, unless it is what was found: the new lines appended when the pack was
    sound and stays at most twice its size written whole, else the pack whole; OSError when the folder cannot be
    written."""
    if pack.kept.keys() == pack.found.keys() and all(pack.found[k] is v for k, v in pack.kept.items()):
        return
    path, header = _path(cache, pack.kind, pack.name), f"{HEADER} pack {pack.kind} {pack.name}".encode()
    if pack.size and not pack.damaged:   # a sound pack was found: perhaps only the new lines need appending
        new = b"".join(b"\n" + line for key, line in pack.kept.items() if pack.found.get(key) is not line)
        whole = len(header) + sum(map(len, pack.kept.values())) + len(pack.kept)
        if pack.size + len(new) <= 2 * whole and (not new or _append(path, new)):
            return
    _write(cache, path, _lines(header, [pack.kept[k] for k in sorted(pack.kept)]))


def _lines(header: bytes, lines: list[bytes]) -> Iterator[bytes]:
    yield header
    for line in lines:
        yield b"\n"
        yield line


def _append(path: Path, text: bytes) -> bool:
    """``text`` at the end of the pack ``path``; False when there is none there to append to."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(text)
    return True


def exact_json(value: Any) -> bool:
    """Whether ``value`` is made only of what JSON gives back unchanged: dicts with str keys, lists, str, int,
    finite float, bool and None, each of exactly that type (a ``SecretStr``, a tuple, a date is not)."""
    todo = [value]
    push = todo.append
    while todo:
        item = todo.pop()
        kind = type(item)
        if kind is dict:
            for k in item:
                if type(k) is not str:
                    return False
            values: Any = item.values()
        elif kind is list:
            values = item
        else:   # only ever the value itself: a container's scalars are looked at below, not pushed
            return kind in _SCALARS or (kind is float and math.isfinite(item))
        for v in values:
            kind = type(v)
            if kind is str:
                continue
            if kind is dict or kind is list:
                push(v)
            elif kind is float:
                if not math.isfinite(v):
                    return False
            elif kind is not int and kind is not bool and v is not None:
                return False
    return True


_SCALARS = frozenset({str, int, bool, type(None)})
