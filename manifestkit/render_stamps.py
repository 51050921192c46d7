"""The writer's stamps of an output folder kept in the render cache, so a warm render does not read the files it left.

The stamps (:class:`~manifestkit.writer.Stamps`) name each unchanged public file's stat and the sha256 of its bytes;
they live in the cache, never in the output folder (its ledger's format stays as it is), one pack per folder and
ledger. The writer trusts a stamp only while the file's stat is still the stamped one, so an entry that is stale,
foreign or torn costs a read, never a wrong answer. No private file is stamped: nothing of a Secret is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from manifestkit.render_cache import Cache, Pack, keep, open_pack, save_pack, take
from manifestkit.writer import Files, Stamps, WriteResult, write_tree

KIND = "stamps"
KEY = "stamps"


def stamped_write(cache: Cache | None, target: Path, files: Files, scope: Sequence[str], force: bool,
                  ledger: str) -> WriteResult:
    """:func:`~manifestkit.writer.write_tree`, given the stamps ``cache`` has of ``target`` and keeping those it
    returns (``cache`` None: no stamps)."""
    if cache is None:
        return write_tree(target, files, scope, force=force, ledger=ledger)
    pack, trusted = open_stamps(cache, target, ledger)
    result = write_tree(target, files, scope, force=force, ledger=ledger, trusted=trusted)
    save_stamps(cache, pack, result.stamps)
    return result


def open_stamps(cache: Cache, target: Path, ledger: str) -> tuple[Pack, Stamps]:
    """The stamps the last write of ``target`` (keeping ``ledger``) left in ``cache``; none when there are none."""
    pack = open_pack(cache, KIND, str(target.resolve()), ledger)
    return pack, _stamps(take(pack, KEY))


def save_stamps(cache: Cache, pack: Pack, stamps: Stamps) -> None:
    """Keep ``stamps`` for the next write (a cache that cannot be written only makes it read the files)."""
    keep(pack, KEY, {"taken": stamps.taken, "files": stamps.files})
    try:
        save_pack(cache, pack)
    except OSError:
        pass    # the render said so already, when it stored the objects (render_jobs.remember)


def _stamps(body: Any) -> Stamps:
    if not isinstance(body, dict) or type(body.get("taken")) is not int or not isinstance(body.get("files"), dict):
        return Stamps()
    files = {rel: tuple(value) for rel, value in body["files"].items() if isinstance(value, list) and len(value) == 6}
    return Stamps(taken=body["taken"], files=files)    # a value of other types equals no stat: the file is read
