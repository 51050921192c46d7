"""Where an untraced value was written, found from its traced neighbours: booleans, and numbers a step turned into text.

A boolean cannot carry its origin (``bool`` cannot be subclassed), so it is found beside the traced values around it:
``securityContext.readOnlyRootFilesystem`` sits next to ``securityContext.capabilities.drop[0]``, whose origin says
which file and YAML path that ``securityContext`` came from, so the boolean is looked up at the same place in that
file. A place is accepted only when the file holds the same value there; nothing is guessed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from manifestkit.explain_path import ABSENT, FieldPath, Item, get, leaves
from manifestkit.lint.refs import strings
from manifestkit.provenance import Origin, PathKey, origin_of, plain
from manifestkit.yamlio import Document

CLIMB = 4         # how many levels up neighbours are looked for
MIN_MENTION = 3   # a written string shorter than this is too common to say it is the one a value was made from


def locate(obj: Any, path: FieldPath, value: Any, documents: Sequence[Document]) -> Origin | None:
    """The place in ``documents`` where the value at ``path`` of ``obj`` was written, or None."""
    keys = {(d.file, d.number) for d in documents}
    for depth in range(len(path) - 1, max(len(path) - 1 - CLIMB, -1), -1):
        rel = path[depth:]
        near = [(sub, o) for sub, o in _traced_under(get(obj, path[:depth])) if (o.file, o.number) in keys]
        for sub, origin in near:
            anchor = _anchor(origin.path, sub)
            place = _descend(origin.document.data, anchor, rel) if anchor is not None else None
            if place is not None and same_value(_at(origin.document.data, place), value):
                return dataclasses.replace(origin, path=place)
        if near:
            common = common_path([o.path for _, o in near])
            origin = near[0][1]
            if common and same_value(_at(origin.document.data, common), value):
                return dataclasses.replace(origin, path=common)
    return None


def declared(obj: Any, path: FieldPath, documents: Sequence[Document]) -> Origin | None:
    """Where the key of the value at ``path`` was written, when a user wrote the key and a step made the value (a
    ConfigMap key whose content was read or rendered from a file), or None."""
    parent = get(obj, path[:-1]) if path else ABSENT
    if not isinstance(parent, Mapping) or not isinstance(path[-1], str):
        return None
    keys = {(d.file, d.number) for d in documents}
    origin = next((o for key in parent if key == path[-1] and (o := origin_of(key)) is not None), None)
    return origin if origin is not None and (origin.file, origin.number) in keys else None


def mentioned(value: Any, documents: Sequence[Document]) -> Origin | None:
    """The entry of ``documents`` holding the longest string written there that ``value`` contains (the `images:`
    rule that put a tag into an image reference), or None."""
    if not isinstance(value, str):
        return None
    found = [(len(text), doc, where) for doc in documents for where, text in strings(doc.data)
             if len(text) >= MIN_MENTION and text in value and where[:1] == ("spec",)]
    if not found:
        return None
    _, doc, where = max(found, key=lambda f: f[0])
    if isinstance(_at(doc.data, where[:-1]), Mapping):
        where = where[:-1]      # the rule (an `images:` entry) rather than one of its strings
    return Origin(document=doc, file=doc.file, number=doc.number, path=where)


def same_value(written: Any, value: Any) -> bool:
    """Whether ``value`` is what was written, also when a step wrote it as text (``4`` → ``"4"``, ``true`` →
    ``"true"``, as env values and ConfigMap data are)."""
    if written is ABSENT or isinstance(written, (Mapping, list)):
        return False
    written, value = plain(written), plain(value)
    if isinstance(written, bool) or isinstance(value, bool):
        if isinstance(written, bool) and isinstance(value, bool):
            return written is value
        return isinstance(value, str) and value == ("true" if written else "false")
    return bool(written == value) or (isinstance(value, str) and value == str(written))


def _traced_under(node: Any) -> Iterator[tuple[FieldPath, Origin]]:
    if node is ABSENT:
        return
    for sub, leaf in leaves(node):
        origin = origin_of(leaf)
        if origin is not None:
            yield sub, origin


def _anchor(written: PathKey, sub: FieldPath) -> PathKey | None:
    """Where the node that holds a traced leaf at ``sub`` sits in the leaf's file: ``written`` minus ``sub``."""
    if len(sub) > len(written):
        return None
    tail = written[len(written) - len(sub):]
    for segment, part in zip(sub, tail, strict=True):
        if isinstance(segment, Item):
            if not (isinstance(part, int) or part == segment.value):   # a named item, or a key of a map (env)
                return None
        elif isinstance(segment, int):
            if not isinstance(part, int):
                return None
        elif segment != part:
            return None
    return written[:len(written) - len(sub)]


def _descend(data: Any, at: PathKey, rel: FieldPath) -> PathKey | None:
    """``at`` followed by ``rel`` inside the written ``data``, list items found by name; None when it leads nowhere."""
    node = _at(data, at)
    place = list(at)
    for segment in rel:
        if isinstance(segment, Item) and isinstance(node, list):
            hits = [i for i, x in enumerate(node) if isinstance(x, Mapping) and x.get(segment.field) == segment.value]
            if len(hits) != 1:
                return None
            part: str | int = hits[0]
        elif isinstance(segment, Item):
            part = segment.value
        else:
            part = segment
        node = _at(node, (part,))
        if node is ABSENT:
            return None
        place.append(part)
    return tuple(place)


def _at(data: Any, path: PathKey) -> Any:
    node = data
    for part in path:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return ABSENT
    return node


def common_path(paths: Sequence[PathKey]) -> PathKey:
    """The longest path all of ``paths`` start with."""
    first = paths[0]
    n = 0
    while n < len(first) and all(len(p) > n and p[n] == first[n] for p in paths):
        n += 1
    return first[:n]

