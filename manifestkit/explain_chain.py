"""Who set a field of a rendered object: every change of the field through the versions of an explain run, each with
its writer and the file and line it came from; and, per object, who made it and who set its fields.

A change is a new value, or the same value written by someone else (an overlay repeating the App's image). A value read
from a user's file names that file through its origin; a value a step made on the user's behalf (a pattern's
container, a patch, a Secret's output mode, the config checksum) names where that step was asked for; a value nobody
wrote is manifestkit's default. Secret values are never kept: a Secret's data is ``<redacted>`` at every step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manifestkit.explain_locate import common_path, declared, locate, mentioned
from manifestkit.explain_path import ABSENT, FieldPath, get, leaves
from manifestkit.explain_run import DocKey, Run, Version, Writer
from manifestkit.model import Resource, Source
from manifestkit.package_data import data_dir
from manifestkit.provenance import Origin, origin_of, plain
from manifestkit.redact import REDACTED, SecretStr
from manifestkit.yamlio import format_path

FILE_KINDS = frozenset({"app", "base", "objects", "project", "overlay", "builtin-overlay"})
OVERLAY_KINDS = frozenset({"overlay", "builtin-overlay"})
SECRET_FIELDS = ("data", "stringData", "binaryData")    # of a Secret: its values
DEFAULT = Writer(kind="default", name="manifestkit")


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """A place in a file as the output shows it."""

    file: str
    line: int = 0
    path: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One change of a field: its writer, the step that applied it, the value it left and where that was written."""

    writer: Writer
    step: str
    value: Any                    # plain data, or REDACTED
    place: Place | None = None    # None: manifestkit's own default
    via: Place | None = None      # a step acting for the user: the user's value it used
    origin: Origin | None = field(default=None, compare=False)   # the value's own place (``place`` or ``via``)
    how: str = ""   # how that place is known: traced (the value says), beside (found by its neighbours),
    #                 key (a user wrote its key, a step made it), part (it holds a string the user wrote)


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    path: FieldPath
    value: Any
    chain: tuple[Entry, ...]      # first writer first

    @property
    def writer(self) -> Entry | None:
        return self.chain[-1] if self.chain else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectInfo:
    """One object of an app: who made it, and how many of its fields each writer set last."""

    resource: Resource
    created: Entry
    counts: tuple[tuple[Writer, int], ...]


def place_of(origin: Origin) -> Place:
    return Place(file=shown_file(origin.file), line=origin.line, path=format_path(origin.path))


def shown_file(file: str) -> str:
    """A file as the output names it: as diagnostics do, but one of the package's own (a built-in overlay) outside the
    working folder by its absolute path rather than a climb of ``../``."""
    path = Path(file)
    if file.startswith("..") and path.resolve().is_relative_to(data_dir("overlays").resolve()):
        return str(path.resolve())
    return file


def match(resources: Sequence[Resource], target: Resource) -> Resource | None:
    """``target`` in another version: same app, kind and name (an overlay may have moved it to another namespace)."""
    same = [r for r in resources if r.kind == target.kind and r.name == target.name and r.app == target.app]
    if len(same) > 1:
        same = [r for r in same if r.namespace == target.namespace]
    return same[0] if len(same) == 1 else None


def versions_of(run: Run, target: Resource) -> list[tuple[Version, Resource]]:
    found = ((version, match(version.resources, target)) for version in run.versions)
    return [(version, resource) for version, resource in found if resource is not None]


def is_secret(target: Resource, path: FieldPath, value: Any = None) -> bool:
    return (target.kind == "Secret" and bool(path) and path[0] in SECRET_FIELDS) or isinstance(value, SecretStr)


def field_of(run: Run, target: Resource, path: FieldPath,
             history: list[tuple[Version, Resource]] | None = None) -> Field:
    """The final value at ``path`` of ``target`` and every change that led to it."""
    entries: list[Entry] = []
    previous: Any = ABSENT
    for i, (version, current) in enumerate(versions_of(run, target) if history is None else history):
        value = get(current.obj, path)
        if value is not ABSENT and _changed(previous, value):
            entries.append(_entry(run, version, current, path, value, is_secret(target, path, value), i == 0))
        previous = value
    final = get(target.obj, path)
    return Field(path=path, value=_shown(final, is_secret(target, path, final)), chain=tuple(entries))


def _changed(previous: Any, value: Any) -> bool:
    if previous is ABSENT or origin_of(previous) != origin_of(value):
        return True
    old, new = plain(previous), plain(value)
    return bool(old != new) or isinstance(old, bool) != isinstance(new, bool)


def _shown(value: Any, secret: bool) -> Any:
    if secret and not isinstance(value, (Mapping, list)):
        return REDACTED
    if secret:
        return {k: REDACTED for k in plain(value)} if isinstance(value, Mapping) else [REDACTED for _ in value]
    return plain(value)


def _entry(run: Run, version: Version, current: Resource, path: FieldPath, value: Any, secret: bool,
           new: bool) -> Entry:
    """The change to ``value`` in ``version``; ``new`` when the object itself first appears there."""
    writer = version.writer(current)
    shown = _shown(value, secret)
    origin, how = _found(current.obj, path, value, writer)
    if writer.kind in FILE_KINDS:
        if origin is None:
            # Nobody wrote it: manifestkit's default, unless an overlay changed an object that was already there.
            keep = writer.kind in OVERLAY_KINDS and not new
            return Entry(writer=writer if keep else DEFAULT, step=version.step, value=shown)
        return Entry(writer=_writer_of(run.writers, origin, writer), step=version.step, value=shown,
                     place=place_of(origin), origin=origin, how=how)
    return Entry(writer=writer, step=version.step, value=shown,
                 place=place_of(writer.origin) if writer.origin is not None else None,
                 via=place_of(origin) if origin is not None else None, origin=origin, how=how)


def _found(obj: Any, path: FieldPath, value: Any, writer: Writer) -> tuple[Origin | None, str]:
    """Where ``value`` was written, and how that is known (see :attr:`Entry.how`)."""
    origin = origin_of(value)
    if origin is not None:
        return origin, "traced"
    found = locate(obj, path, value, writer.documents)
    if found is not None:
        return found, "beside"
    found = declared(obj, path, writer.documents)
    if found is not None:
        return found, "key"
    found = mentioned(value, writer.documents) if writer.kind in OVERLAY_KINDS else None
    if found is not None:
        return found, "part"
    return None, ""


def _writer_of(writers: Mapping[DocKey, Writer], origin: Origin, fallback: Writer) -> Writer:
    return writers.get((origin.file, origin.number), fallback)


# ---------------------------------------------------------------- whole objects


def fields_of(run: Run, target: Resource, under: FieldPath = ()) -> list[Field]:
    """Every leaf at or under ``under`` of ``target``, explained."""
    history = versions_of(run, target)
    node = get(target.obj, under)
    return [field_of(run, target, (*under, *sub), history) for sub, _ in leaves(node)]


def object_info(run: Run, target: Resource) -> ObjectInfo:
    history = versions_of(run, target)
    version, first = history[0] if history else (None, target)
    counts = Counter(f.writer.writer for f in (field_of(run, target, sub, history)
                                               for sub, _ in leaves(target.obj)) if f.writer is not None)
    order = {w: i for i, w in enumerate(counts)}
    ranked = tuple(sorted(counts.items(), key=lambda item: (-item[1], order[item[0]])))
    return ObjectInfo(resource=target, created=_created(run, version, first), counts=ranked)


def _created(run: Run, version: Version | None, first: Resource) -> Entry:
    """Who made the object: an overlay (at the entry that asks for it), a pattern (at its entry), else the writer of
    the version it first appears in, at the App line it was made for."""
    if version is None:
        return Entry(writer=DEFAULT, step="", value=None, place=_source_place(first.source))
    writer = version.writer(first)
    if writer.kind == "pattern" and writer.origin is not None:
        return Entry(writer=writer, step=version.step, value=None, place=place_of(writer.origin))
    if writer.kind in OVERLAY_KINDS:
        keys = {(d.file, d.number) for d in writer.documents}
        written = [o for _, leaf in leaves(first.obj) if (o := origin_of(leaf)) is not None
                   and (o.file, o.number) in keys]
        if written:
            common = common_path([o.path for o in written])
            if len(written) == 1:
                common = common[:-1]    # the entry that holds the one value, not the value
            return Entry(writer=writer, step=version.step, value=None,
                         place=Place(file=shown_file(written[0].file), line=written[0].document.position(common)[0],
                                     path=format_path(common)))
    if writer.kind in FILE_KINDS:   # the file it was read from: the App, its base manifest, an objects file
        writer = next((w for (file, _), w in run.writers.items() if file == first.source.file), writer)
    return Entry(writer=writer, step=version.step, value=None, place=_source_place(first.source))


def _source_place(source: Source) -> Place | None:
    return Place(file=source.file, line=source.line) if source.file else None
