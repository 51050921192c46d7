"""The render cache on disk: content-addressed JSON entries, written atomically, trusted only when whole and sound.

An entry is the file ``<dir>/v1/<kind>/<key[:2]>/<key>.json`` of three lines: a header naming the format and the key,
the sha256 of the third line, and the body as one line of JSON. A read that finds anything else (a torn, truncated,
edited or foreign file, another format) is a miss: the caller renders again and its write replaces the entry. A write
goes to a temp file beside the entry and is renamed over it, so a reader sees the old entry or the new, never half of
one; two renders writing the same key write the same bytes. Nothing stored is secret: the callers store only what
they proved holds no resolved value (:mod:`manifestkit.render_units`).

The folder is ``--cache-dir``, else ``MANIFESTKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/manifestkit``, else
``~/.cache/manifestkit``; never the output folder or a folder inside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError, display_path

FORMAT = "v1"
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


def read_entry(cache: Cache, kind: str, key: str) -> Any | None:
    """The body stored under ``key``, or None when there is none or it is not whole and well-formed."""
    try:
        with open(_path(cache, kind, key), "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    header, _, rest = raw.partition(b"\n")
    digest, _, body = rest.partition(b"\n")
    if header != f"{HEADER} {kind} {key}".encode() or hashlib.sha256(body).hexdigest().encode() != digest:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def write_entry(cache: Cache, kind: str, key: str, body: Any) -> None:
    """Store ``body`` (plain JSON data) under ``key``, atomically; OSError when the folder cannot be written."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    path = _path(cache, kind, key)
    text = b"%s\n%s\n%s" % (f"{HEADER} {kind} {key}".encode(), hashlib.sha256(data).hexdigest().encode(), data)
    if not path.parent.is_dir():
        cache.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(6)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def exact_json(value: Any) -> bool:
    """Whether ``value`` is made only of what JSON gives back unchanged: dicts with str keys, lists, str, int,
    finite float, bool and None, each of exactly that type (a ``SecretStr``, a tuple, a date is not)."""
    todo = [value]
    while todo:
        item = todo.pop()
        kind = type(item)
        if kind is dict:
            if any(type(k) is not str for k in item):
                return False
            todo.extend(item.values())
        elif kind is list:
            todo.extend(item)
        elif kind is float:
            if item != item or item in (float("inf"), float("-inf")):
                return False
        elif kind not in _SCALARS:
            return False
    return True


_SCALARS = frozenset({str, int, bool, type(None)})
