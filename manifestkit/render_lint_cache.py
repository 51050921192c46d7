"""Lint findings kept in the render cache: a plain-format file whose bytes, name and lint configuration are
unchanged gets the findings it had, without being read again.

Only the files of apps the render cache stores are kept (so no finding about a resolved Secret is ever stored).
A rule that looks across files (a Service's selector and target ports against the render's pods) makes a Service
file's findings depend on every workload: its key also covers a digest of what those rules read of the workloads,
and when a Service file is linted anew, the rules see the objects of every workload file beside it, as
:func:`~manifestkit.render_lint.lint_files` of every file would.
Together the findings are exactly what linting every file at once finds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from manifestkit import kinds
from manifestkit.diagnostics import Diagnostic, sort_diagnostics
from manifestkit.kinds import is_long_running, runs_to_completion
from manifestkit.lint.config import LintConfig
from manifestkit.lint.podspec import as_list, as_map, pod_metadata, pod_spec, ref
from manifestkit.model import Resource
from manifestkit.render_cache import Cache, Pack, keep, key_of, save_pack, take
from manifestkit.render_inputs import package_stamp
from manifestkit.writer import OutFile

KIND = "lint"
# (files: relative path → file, the other files' objects the cross-object rules see) → the files' findings
Lint = Callable[[Mapping[str, OutFile], Mapping[str, Mapping[str, Any]]], list[Diagnostic]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Kept:
    """What a plain render gives the lint cache: every file's object, and those of the apps the cache stores."""

    cache: Cache
    pack: Pack                           # the findings of the previous render of this folder (and shard)
    objects: Mapping[str, Resource]      # relative path → the object of the file
    stored: Mapping[str, Resource]       # the same, for the objects of stored apps only


@dataclass(frozen=True, slots=True, kw_only=True)
class Known:
    """The findings the cache had for a render's files, and the files still to lint."""

    files: Mapping[str, OutFile]
    target: Path
    kept: Kept
    keys: Mapping[str | None, str]                # each stored app's entry
    groups: Mapping[str | None, list[str]]        # each stored app's files
    found: Mapping[str, list[Diagnostic]]
    todo: list[str]

    def finish(self, lint: Lint) -> list[Diagnostic]:
        """Every file's findings: ``lint`` finds those of the files to lint (and the cache keeps them)."""
        found = dict(self.found)
        objects, pack = self.kept.objects, self.kept.pack
        if self.todo:
            named = {str(self.target / rel): rel for rel in self.todo}
            services = any(objects[rel].kind == "Service" for rel in self.todo if rel in objects)
            others = {rel: objects[rel].obj for rel in sorted(set(objects) - set(self.todo))
                      if _has_pods(objects[rel])} if services else {}
            fresh: dict[str, list[Diagnostic]] = {rel: [] for rel in self.todo}
            for finding in lint({rel: self.files[rel] for rel in self.todo}, others):
                where = named.get(finding.file)
                if where in fresh:
                    fresh[where].append(finding)
            for app, rels in self.groups.items():
                if rels[0] in fresh:
                    keep(pack, self.keys[app], {rel: [_plain_finding(d) for d in fresh[rel]] for rel in rels})
            found.update(fresh)
        try:
            save_pack(self.kept.cache, pack)
        except OSError:
            pass    # the render said so already, when it stored the objects (render_jobs.remember)
        return sort_diagnostics(d for rel in sorted(self.files) for d in found.get(rel, []))


def kept_findings(files: Mapping[str, OutFile], target: Path, config: LintConfig, kept: Kept) -> Known:
    """The findings the cache has for ``files`` (named under ``target``): those of stored apps' files whose bytes,
    names and lint configuration (and for a Service, the workloads around it) are unchanged."""
    objects, stored, pack = kept.objects, kept.stored, kept.pack
    shared = key_of(KIND, package_stamp(), str(target), _config_digest(config))
    pods = _pods_digest(objects)
    groups: dict[str | None, list[str]] = {}     # the files of each stored app: one entry each
    for rel in sorted(files):
        if rel in stored:
            groups.setdefault(stored[rel].app, []).append(rel)
    keys = {app: key_of(shared, *(f"{rel}={hashlib.sha256(files[rel].data).hexdigest()}" for rel in rels),
                        pods if any(stored[rel].kind == "Service" for rel in rels) else "")
            for app, rels in groups.items()}
    found: dict[str, list[Diagnostic]] = {}
    for app, key in keys.items():
        had = _findings(take(pack, key), groups[app])
        if had is not None:
            found.update(had)
    return Known(files=files, target=target, kept=kept, keys=keys, groups=groups, found=found,
                 todo=[rel for rel in files if rel not in found])


FIELDS = tuple(f.name for f in dataclasses.fields(Diagnostic))


def _plain_finding(finding: Diagnostic) -> dict[str, Any]:
    return {name: getattr(finding, name) for name in FIELDS}


def _findings(body: Any, rels: list[str]) -> dict[str, list[Diagnostic]] | None:
    """The findings of each of ``rels`` in an entry, or None when it is not what was stored."""
    if not isinstance(body, dict) or sorted(body) != rels:
        return None
    out: dict[str, list[Diagnostic]] = {}
    for rel, items in body.items():
        if not isinstance(items, list):
            return None
        for item in items:
            if type(item) is not dict or item.keys() != _FIELD_NAMES or not all(
                    type(item[name]) is kind for name, kind in _FIELD_TYPES):
                return None
        out[rel] = [Diagnostic(**item) for item in items]
    return out


_FIELD_NAMES = frozenset(FIELDS)
_FIELD_TYPES = tuple((name, int if name in ("line", "column") else str) for name in FIELDS)


def _config_digest(config: LintConfig) -> str:
    return hashlib.sha256(json.dumps(_plain(config), sort_keys=True).encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    """A configuration as JSON data that is the same in every process (sets sorted: their order is salted)."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _has_pods(resource: Resource) -> bool:
    kind = resource.obj.get("kind")
    return is_long_running(kind) or runs_to_completion(kind)


def _pods_digest(objects: Mapping[str, Resource]) -> str:
    """What a Service's findings read of other files (MK002, MK003: ``lint.workload_rules``): each workload in file
    order with its namespace, kind, name, pod labels and container port names. A rule that reads more of other
    files must add it here."""
    seen = []
    for rel in sorted(objects):
        if _has_pods(objects[rel]):
            obj = objects[rel].obj
            found = pod_spec(obj)
            ports = [[str(as_map(p).get("name", "")) for p in as_list(c.get("ports"))]
                     for _, _, c in (kinds.containers(found[1]) if found else ())]
            seen.append([ref(obj), pod_metadata(obj)[1].get("labels"), ports])
    try:
        text = b"o" + orjson.dumps(seen, default=str, option=orjson.OPT_SORT_KEYS)
    except TypeError:   # orjson.JSONEncodeError: an int beyond 64 bits, a key that is not a str
        text = b"j" + json.dumps(seen, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(text).hexdigest()
