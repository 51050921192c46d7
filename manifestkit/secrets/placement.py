"""Refs where they may not be: a secret reference in a ConfigMap or an annotation is an error, since neither is
secret."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from manifestkit.diagnostics import Diagnostic
from manifestkit.kinds import pod_template
from manifestkit.model import Resource
from manifestkit.secrets.jobs import located
from manifestkit.secrets.refs import has_refs


def not_in_configmaps(resources: Sequence[Resource]) -> list[Diagnostic]:
    """A ref in a ConfigMap would be resolved into an object anyone may read."""
    return [Diagnostic(message=f"{r.ref()}: data.{key} holds a secret reference, but a ConfigMap is not secret",
                       hint="move the value into the App's `secrets:` and mount or reference that Secret",
                       **located(r))
            for r in resources if r.kind == "ConfigMap"
            for key, value in sorted((r.obj.get("data") or {}).items()) if isinstance(value, str) and has_refs(value)]


def _annotation_maps(obj: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield "metadata.annotations", (obj.get("metadata") or {}).get("annotations") or {}
    template = pod_template(obj)
    if template is not None:
        yield "pod template annotations", (template.get("metadata") or {}).get("annotations") or {}


def not_in_annotations(resources: Sequence[Resource]) -> list[Diagnostic]:
    """Annotations are readable by anyone who may list the object."""
    return [Diagnostic(message=f"{r.ref()}: {where} {key!r} holds a secret reference, but annotations are not secret",
                       hint="move the value into the App's `secrets:`", **located(r))
            for r in resources for where, annotations in _annotation_maps(r.obj)
            for key, value in sorted(annotations.items()) if isinstance(value, str) and has_refs(value)]
