"""FIELD-PATHs of `manifestkit explain`: ``Kind/name.field[item].field``, parsed, resolved against rendered objects,
and written back in one canonical form.

An object is ``Kind/name`` or ``Kind/namespace/name``, or ``Kind`` alone when the app has one object of that kind; a
path that starts with a field (``spec.replicas``) is a field of the app's one workload. Fields are joined by dots; a
list item is ``[NAME]`` (the item whose ``name`` is NAME), ``[FIELD=VALUE]`` or ``[INDEX]``; a key with dots or
slashes is written ``[key]`` (``metadata.labels[app.kubernetes.io/name]``), or simply with its dots, which are read as
part of the key when no shorter key matches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean, type_name
from manifestkit.kinds import pod_template
from manifestkit.model import Resource
from manifestkit.provenance import plain


class Item(NamedTuple):
    """A list item named by one of its fields: ``containers[web]`` is ``Item("name", "web")``."""

    field: str
    value: str


Segment = str | int | Item
FieldPath = tuple[Segment, ...]


class Absent:
    """The value at a path that leads nowhere."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = Absent()
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def get(node: Any, path: FieldPath) -> Any:
    """The value at ``path``, or :data:`ABSENT`."""
    for segment in path:
        if isinstance(segment, Item):
            hits = [x for x in node if isinstance(x, Mapping) and x.get(segment.field) == segment.value] \
                if isinstance(node, list) else []
            if len(hits) != 1:
                return ABSENT
            node = hits[0]
        elif isinstance(segment, int):
            if not isinstance(node, list) or not 0 <= segment < len(node):
                return ABSENT
            node = node[segment]
        elif isinstance(node, Mapping) and segment in node:
            node = node[segment]
        else:
            return ABSENT
    return node


def item_segment(items: Sequence[Any], index: int) -> Segment:
    """How a list item is named: by its ``name`` when that is unique in the list, else by its index."""
    item = items[index]
    name = item.get("name") if isinstance(item, Mapping) else None
    if isinstance(name, str) and sum(1 for x in items if isinstance(x, Mapping) and x.get("name") == name) == 1:
        return Item("name", plain(name))
    return index


def leaves(node: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, Any]]:
    """Every scalar (and empty mapping or list) under ``node``, with its canonical path."""
    if isinstance(node, Mapping) and node:
        for key, value in node.items():
            yield from leaves(value, (*path, plain(key)))
    elif isinstance(node, list) and node:
        for index, value in enumerate(node):
            yield from leaves(value, (*path, item_segment(node, index)))
    else:
        yield path, node


def format_field(path: FieldPath) -> str:
    """``("spec", "containers", Item("name", "web"), "image")`` → ``spec.containers[web].image``."""
    out = ""
    for segment in path:
        if isinstance(segment, Item):
            text = segment.value if segment.field == "name" else f"{segment.field}={segment.value}"
            out += f"[{_bracketed(text)}]"
        elif isinstance(segment, int):
            out += f"[{segment}]"
        elif _PLAIN_KEY.fullmatch(segment):
            out += f".{segment}" if out else segment
        else:
            out += f"[{_bracketed(segment)}]"
    return out


def _bracketed(text: str) -> str:
    return json.dumps(text) if any(c in text for c in "[]\"'") or not text else text


# ---------------------------------------------------------------- parsing and resolving a field path


class Token(NamedTuple):
    text: str
    dotted: bool     # written after a dot (may join the next dotted tokens into one key)


def usage_error(message: str, hint: str = "") -> ManifestkitError:
    return ManifestkitError([Diagnostic(message=message, hint=hint)])


def tokens(text: str) -> list[Token]:
    """The segments of a field path as written."""
    out: list[Token] = []
    i = 0
    while i < len(text):
        if text[i] == "[":
            if text[i + 1:i + 2] in ('"', "'"):
                key, i = _quoted(text, i + 1)
                out.append(Token(key, False))
            else:
                end = text.find("]", i)
                if end < 0:
                    raise usage_error(f"field path {text!r}: unclosed [", hint="close it with ]")
                out.append(Token(text[i + 1:end], False))
                i = end + 1
            continue
        if text[i] == "." and out:
            i += 1
        end = min([j for j in (text.find(".", i), text.find("[", i)) if j >= 0], default=len(text))
        if end == i:
            raise usage_error(f"field path {text!r}: empty field name at character {i + 1}",
                              hint="join fields with one dot: spec.template.spec")
        out.append(Token(text[i:end], True))
        i = end
    return out


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The key quoted at ``text[start]`` (JSON's double quotes, or single quotes with no escapes) and where the
    path goes on after its ``]``."""
    quote = text[start]
    try:
        key, end = (json.JSONDecoder().raw_decode(text, start) if quote == '"'
                    else (text[start + 1:text.index("'", start + 1)], text.index("'", start + 1) + 1))
    except ValueError:
        raise usage_error(f"field path {text!r}: unclosed {quote}", hint=f"close it with {quote}]") from None
    if text[end:end + 1] != "]":
        raise usage_error(f"field path {text!r}: expected ] after the quoted key", hint=f"write [{quote}key{quote}]")
    return str(key), end + 1


def resolve(obj: Mapping[str, Any], text: str, ref: str) -> FieldPath:
    """The canonical path of the field ``text`` names in ``obj`` (``ref`` names the object in messages)."""
    written = tokens(text)
    node: Any = obj
    out: list[Segment] = []
    i = 0
    while i < len(written):
        where = format_field(tuple(out)) or "the object's top level"
        if isinstance(node, Mapping):
            i, key = _key(node, written, i, ref, where)
            out.append(key)
            node = node[key]
        elif isinstance(node, list):
            segment = _item(node, written[i].text, ref, where)
            out.append(segment)
            node = get(node, (segment,))
            i += 1
        else:
            # Not the value itself: it may be a Secret's.
            raise usage_error(f"{ref}: {where} is {type_name(plain(node))}, not a mapping or a list; it has no field "
                              f"{written[i].text!r}")
    return tuple(out)


def _key(node: Mapping[str, Any], written: list[Token], i: int, ref: str, where: str) -> tuple[int, str]:
    """The key ``written[i]`` names (joining the dotted tokens after it when the key itself holds dots)."""
    if written[i].text in node:
        return i + 1, plain(written[i].text)
    if written[i].dotted:
        for j in range(len(written), i + 1, -1):
            if all(t.dotted for t in written[i:j]):
                joined = ".".join(t.text for t in written[i:j])
                if joined in node:
                    return j, joined
    keys = sorted(plain(k) for k in node)
    raise usage_error(f"{ref} has no field {written[i].text!r} in {where}; expected one of: {', '.join(keys)}",
                      hint=did_you_mean(written[i].text, keys))


def _item(items: list[Any], text: str, ref: str, where: str) -> Segment:
    if re.fullmatch(r"-?[0-9]+", text):
        index = int(text)
        if not 0 <= index < len(items):
            raise usage_error(f"{ref}: {where} has {len(items)} item(s); index {index} is out of range")
        return item_segment(items, index)
    field, _, value = text.partition("=") if "=" in text else ("name", "", text)
    hits = [i for i, x in enumerate(items) if isinstance(x, Mapping) and plain(x.get(field)) == value]
    if len(hits) == 1:
        return item_segment(items, hits[0]) if field == "name" else Item(field, value)
    names = [str(plain(x.get(field))) for x in items if isinstance(x, Mapping) and field in x]
    if hits:
        raise usage_error(f"{ref}: {where} has {len(hits)} items with {field} {value!r}",
                          hint=f"name one by its index: {', '.join(f'[{i}]' for i in hits)}")
    expected = f"expected one of: {', '.join(names)}" if names else f"its items have no {field!r}; use an index"
    raise usage_error(f"{ref}: {where} has no item with {field} {value!r}; {expected}",
                      hint=did_you_mean(value, names))


# ---------------------------------------------------------------- the object a FIELD-PATH starts with


def object_ref(resource: Resource) -> str:
    ns = f"{resource.namespace}/" if resource.namespace else ""
    return f"{resource.kind}/{ns}{resource.name}"


def find_object(text: str, objects: Sequence[Resource], app: str) -> tuple[Resource, str]:
    """The object of ``app`` a FIELD-PATH starts with, and the field path after it."""
    head = re.match(r"[^.\[]*", text)
    first = head.group() if head else ""
    if "/" not in first and not first[:1].isupper():
        return _workload(objects, app), text
    kind_text, _, rest = text.partition("/") if "/" in first else (first, "", text[len(first):])
    kinds = sorted({r.kind for r in objects})
    kind = next((k for k in kinds if k.lower() == kind_text.lower()), None)
    listing = ", ".join(sorted(f"{r.kind}/{r.name}" for r in objects))
    if kind is None:
        raise usage_error(f"app {app!r} has no {kind_text} object; its objects: {listing}",
                          hint=did_you_mean(kind_text, kinds))
    mine = [r for r in objects if r.kind == kind]
    if "/" not in first:
        if len(mine) == 1:
            return mine[0], rest.removeprefix(".")
        raise usage_error(f"app {app!r} has {len(mine)} {kind} objects ({', '.join(object_ref(r) for r in mine)}); "
                          f"name one: {kind}/NAME{rest}")
    namespace, slash, after = rest.partition("/")
    scoped = bool(slash) and "." not in namespace and "[" not in namespace
    if scoped:
        mine, rest = [r for r in mine if r.namespace == namespace], after
    named = [r for r in mine if rest == r.name or rest.startswith((f"{r.name}.", f"{r.name}["))]
    if not named:
        wanted = f"{kind}/{namespace + '/' if scoped else ''}{re.split(r'[.[]', rest)[0]}"
        choices = sorted(object_ref(r) if scoped else f"{r.kind}/{r.name}" for r in objects)
        raise usage_error(f"app {app!r} has no object {wanted}; expected one of: {', '.join(choices)}",
                          hint=did_you_mean(wanted, choices))
    longest = max(len(r.name) for r in named)
    chosen = [r for r in named if len(r.name) == longest]
    if len(chosen) > 1:
        raise usage_error(f"app {app!r} has {kind}/{chosen[0].name} in {len(chosen)} namespaces "
                          f"({', '.join(r.namespace for r in chosen)}); name one: {kind}/NAMESPACE/{chosen[0].name}")
    return chosen[0], rest[longest:].removeprefix(".")


def _workload(objects: Sequence[Resource], app: str) -> Resource:
    workloads = [r for r in objects if pod_template(r.obj) is not None]
    if len(workloads) == 1:
        return workloads[0]
    listing = ", ".join(sorted(f"{r.kind}/{r.name}" for r in objects))
    found = "no workload" if not workloads else f"{len(workloads)} workloads"
    raise usage_error(f"app {app!r} has {found}, so a field path must start with its object; its objects: {listing}",
                      hint="write KIND/NAME.FIELD, e.g. " + (f"{objects[0].kind}/{objects[0].name}.metadata.labels"
                                                             if objects else "Deployment/web.spec.replicas"))
