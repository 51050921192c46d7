"""Patterns users add: YAML files in the project's `patterns/` folder (a parameters schema
plus a Jinja2 template that renders the container, volumes and Service ports), and Python
functions registered under the entry-point group `manifestkit.patterns`.

:func:`registry` returns the built-ins plus both kinds; a user pattern may not reuse a
built-in name.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError, one_of
from manifestkit.patterns import PATTERNS
from manifestkit.patterns.model import ROLES, USER_ROLES, Pattern, PatternError, PatternInput, PatternOutput
from manifestkit.templating import describe_error, environment
from manifestkit.yamlio import Document, load_documents, load_file

ENTRY_POINT_GROUP = "manifestkit.patterns"
USER_NAME = re.compile(rf"^({'|'.join(USER_ROLES)})/[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
NAME_EXPECTED = f"is not <role>/<name> with role one of {one_of(USER_ROLES)}"
TEMPLATE_KEYS = frozenset({"container", "volumes", "servicePorts", "mounts", "annotations"})


def registry(patterns_dir: Path | None = None) -> dict[str, Pattern]:
    """Built-ins, entry-point patterns, and the YAML patterns of ``patterns_dir`` (if it exists)."""
    found = {**PATTERNS}
    extra = [*entry_point_patterns(), *(folder_patterns(patterns_dir) if patterns_dir else [])]
    for pattern, where in extra:
        if pattern.name in found:
            raise ManifestkitError([Diagnostic(message=f"pattern {pattern.name!r} is already defined"
                                               f"{' (built in)' if pattern.name in PATTERNS else ''}", file=where,
                                               hint="give your pattern another name")])
        found[pattern.name] = pattern
    return found


# ---------------------------------------------------------------- entry points


def entry_point_patterns() -> list[tuple[Pattern, str]]:
    """Each entry point's object is a Pattern or a function ``(PatternInput) -> PatternOutput``.

    A function may carry ``schema`` (a JSON Schema for `with:`) and ``repeatable`` attributes.
    """
    out = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        where = f"entry point {ep.name} = {ep.value}"
        if not USER_NAME.match(ep.name):
            raise ManifestkitError([Diagnostic(message=f"pattern name {ep.name!r} {NAME_EXPECTED}", file=where)])
        obj = ep.load()
        if isinstance(obj, Pattern):
            out.append((dataclasses.replace(obj, name=ep.name), where))
        else:
            out.append((Pattern(name=ep.name, apply=obj, schema=getattr(obj, "schema", {"type": "object"}),
                                repeatable=bool(getattr(obj, "repeatable", False))), where))
    return out


# ---------------------------------------------------------------- YAML + Jinja2 files


def folder_patterns(folder: Path) -> list[tuple[Pattern, str]]:
    if not folder.is_dir():
        return []
    return [(_file_pattern(_stamp(path), str(path), str(folder)), str(path)) for path in sorted(folder.rglob("*.yaml"))]


def _stamp(path: Path) -> tuple[str, int, int]:
    """What the cache of pattern files is keyed by, so an edited file is read again."""
    stat = path.stat()
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=256)
def _file_pattern(stamp: tuple[str, int, int], file: str, folder: str) -> Pattern:
    docs = load_file(file)
    if len(docs) != 1 or not isinstance(docs[0].data, Mapping):
        raise ManifestkitError(
            [Diagnostic(message="a pattern file holds one YAML document (kind: Pattern)", file=file)]
        )
    doc = docs[0]
    spec = _checked_spec(doc)
    name = doc.data["metadata"]["name"]
    apply = functools.partial(_render_pattern, doc, folder, name)
    return Pattern(name=name, apply=apply, schema=spec.get("parameters", {"type": "object"}),
                   repeatable=bool(spec.get("repeatable", False)))


def _checked_spec(doc: Document) -> Mapping[str, Any]:
    data = doc.data
    problems = []
    if data.get("kind") != "Pattern":
        problems.append(doc.diagnostic(("kind",), f"found kind {data.get('kind')!r}; expected 'Pattern'"))
    name = (data.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not USER_NAME.match(name):
        problems.append(doc.diagnostic(("metadata", "name"), f"pattern name {name!r} {NAME_EXPECTED}"))
    spec = data.get("spec") or {}
    if not isinstance(spec.get("template"), str):
        problems.append(doc.diagnostic(("spec",), "spec.template is missing; expected a Jinja2 template "
                                       "rendering YAML with container, volumes, servicePorts"))
    unknown = sorted(set(spec) - {"parameters", "template", "repeatable", "description"})
    problems.extend(doc.diagnostic(("spec", key), f"unknown field {key!r}; expected one of: description, "
                                   "parameters, repeatable, template") for key in unknown)
    if problems:
        raise ManifestkitError(problems)
    return dict(spec)


def _render_pattern(doc: Document, folder: str, name: str, inp: PatternInput) -> PatternOutput:
    import jinja2  # loaded by environment() anyway; not at the top, so a render without templates never loads it

    context = {**inp.params, "params": dict(inp.params), "app": inp.name, "namespace": inp.namespace,
               "pod": inp.pod}
    try:
        text = environment(folder).from_string(doc.data["spec"]["template"]).render(**context)
    except jinja2.TemplateError as exc:
        message, _ = describe_error(exc)
        raise PatternError(f"{message} (in {doc.file})") from None
    rendered = load_documents(text, f"{doc.file} (spec.template rendered)")
    data: Mapping[str, Any] = rendered[0].data if rendered and isinstance(rendered[0].data, Mapping) else {}
    unknown = sorted(set(data) - TEMPLATE_KEYS)
    if unknown or not isinstance(data.get("container"), Mapping):
        raise PatternError(f"the template of {doc.file} rendered keys {', '.join(sorted(data)) or 'nothing'}; "
                           f"expected container and optionally {', '.join(sorted(TEMPLATE_KEYS - {'container'}))}")
    container = dict(data["container"])
    running = (container,) if ROLES[name.split("/", 1)[0]].long_running else ()
    return PatternOutput(containers=running, init_containers=() if running else (container,),
                         volumes=tuple(data.get("volumes") or ()), service_ports=tuple(data.get("servicePorts") or ()),
                         mounts={k: tuple(v) for k, v in (data.get("mounts") or {}).items()},
                         annotations={str(k): str(v) for k, v in (data.get("annotations") or {}).items()})
