"""The one merge rule of manifestkit (DESIGN.md, Overlay): maps merge deeply, lists of
named things merge by name, other lists are replaced, ``null`` deletes.

A list item ``{name: x, $patch: delete}`` deletes the named item (as in Kustomize's
strategic merge), and an item named ``"*"`` in a containers list applies to every
container of the target.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

WILDCARD = "*"
DELETE = {"$patch": "delete"}

# Which field identifies the items of a list, by the list's key; "name" when not listed.
MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "patterns": ("use",),
    "volumeMounts": ("mountPath",),
    "ports": ("name", "containerPort", "port"),
    "volumeClaimTemplates": ("metadata.name",),
}
_WILDCARD_LISTS = ("containers", "initContainers")


def _item_key(item: Any, field: str) -> Any:
    value = item
    for part in field.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _list_key(key: str, base: list[Any], patch: list[Any]) -> str | None:
    """The field both lists are keyed by, or None when they must be replaced whole."""
    for field in MERGE_KEYS.get(key, ("name",)):
        items = [*base, *patch]
        if items and all(isinstance(i, Mapping) and _item_key(i, field) is not None for i in items):
            return field
    return None


def merge(base: Any, patch: Any, key: str = "") -> Any:
    """A new value: ``patch`` merged onto ``base``. Neither input is changed."""
    if isinstance(base, Mapping) and isinstance(patch, Mapping):
        out = dict(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = merge(out[k], v, k)
            else:
                out[k] = _clean(v)
        return out
    if isinstance(base, list) and isinstance(patch, list):
        field = _list_key(key, base, patch)
        if field is not None:
            return _merge_named(base, patch, field, key)
    return _clean(patch)


def _merge_named(base: list[Any], patch: list[Any], field: str, key: str) -> list[Any]:
    out = list(base)
    index = {_item_key(item, field): i for i, item in enumerate(out)}
    deleted: set[int] = set()
    for item in patch:
        name = _item_key(item, field)
        if key in _WILDCARD_LISTS and name == WILDCARD:
            rest = {k: v for k, v in item.items() if k != "name"}
            out = [merge(existing, rest, key) for existing in out]
            continue
        if item.get("$patch") == "delete":
            if name in index:
                deleted.add(index[name])
            continue
        if name in index:
            out[index[name]] = merge(out[index[name]], item, key)
        else:
            index[name] = len(out)
            out.append(_clean(item))
    return [item for i, item in enumerate(out) if i not in deleted]


def _clean(value: Any) -> Any:
    """A copy without ``null`` deletions and wildcard items (nothing to delete from)."""
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value
                if not (isinstance(v, Mapping) and (v.get("name") == WILDCARD or v.get("$patch") == "delete"))]
    return copy.copy(value)


def merge_under(defaults: Mapping[str, Any], spec: Mapping[str, Any]) -> Any:
    """``spec`` merged onto ``defaults``: what the spec says wins; wildcards reach every container."""
    expanded = dict(defaults)
    for key in _WILDCARD_LISTS:
        items = defaults.get(key)
        if isinstance(items, list):
            star = [i for i in items if isinstance(i, Mapping) and i.get("name") == WILDCARD]
            named = [i for i in items if not (isinstance(i, Mapping) and i.get("name") == WILDCARD)]
            if star:
                extra = [{"name": c.get("name"), **{k: v for k, v in s.items() if k != "name"}}
                         for s in star for c in spec.get(key, []) if isinstance(c, Mapping)]
                named = [*named, *extra]
            if named:
                expanded[key] = named
            else:
                expanded.pop(key)
    return _spec_order(merge(expanded, spec), spec)


def _spec_order(value: Any, spec: Any) -> Any:
    """``value`` with the keys ``spec`` wrote first, in its order: defaults go after."""
    if isinstance(value, Mapping) and isinstance(spec, Mapping):
        first = {k: _spec_order(value[k], spec[k]) for k in spec if k in value}
        return {**first, **{k: v for k, v in value.items() if k not in first}}
    if isinstance(value, list) and isinstance(spec, list):
        named = {s.get("name"): s for s in spec if isinstance(s, Mapping) and "name" in s}
        return [_spec_order(v, named[v["name"]]) if isinstance(v, Mapping) and v.get("name") in named else v
                for v in value]
    return value
