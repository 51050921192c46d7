"""The object-patch step: an environment's overlay `patches:` applied to built objects by kind and name.

`merge:` uses the one merge rule (maps deep, named lists by name, ``null`` deletes); `jsonPatch:`
is RFC 6902, for what a merge cannot say (as Kustomize's ``patches:`` with a target). A target
that matches no object is an error, never a silent no-op.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonpatch

from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean
from manifestkit.merge import merge
from manifestkit.model import Overlay, RenderContext, Resource


def patch_objects(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    """Pipeline step: every `patches:` entry of the environment's overlays, in overlay order."""
    out = list(resources)
    problems: list[Diagnostic] = []
    for overlay, index in ctx.settings.patches:
        out = _apply(out, overlay, index, problems)
    if problems:
        raise ManifestkitError(problems)
    return out


def _apply(resources: list[Resource], overlay: Overlay, index: int, problems: list[Diagnostic]) -> list[Resource]:
    entry: Mapping[str, Any] = overlay.spec["patches"][index]
    target = entry["target"]
    where = ("spec", "patches", index)
    hits = [i for i, r in enumerate(resources) if _matches(r, target)]
    if not hits:
        refs = sorted({f"{r.kind}/{r.name}" for r in resources if "app" not in target or r.app == target["app"]})
        wanted = f"{target['kind']}/{target['name']}"
        scope = f" of app {target['app']!r}" if "app" in target else ""
        problems.append(
            overlay.doc.diagnostic(
                (*where, "target"),
                f"patch target {wanted}{scope} matches no object; expected one of: {', '.join(refs) or '(none)'}",
                hint=did_you_mean(wanted, refs),
            )
        )
        return resources
    out = list(resources)
    for i in hits:
        obj: Any = out[i].obj
        if "merge" in entry:
            obj = merge(obj, entry["merge"])
        if "jsonPatch" in entry:
            try:
                obj = jsonpatch.apply_patch(obj, list(entry["jsonPatch"]), in_place=False)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                problems.append(
                    overlay.doc.diagnostic(
                        (*where, "jsonPatch"),
                        f"JSON patch of {out[i].ref()} does not apply: {exc}",
                        hint="paths are RFC 6901 pointers into the rendered object, e.g. /spec/replicas",
                    )
                )
                continue
        out[i] = out[i].replace_obj(obj)
    return out


def _matches(resource: Resource, target: Mapping[str, Any]) -> bool:
    return (resource.kind == target["kind"] and resource.name == target["name"]
            and ("app" not in target or resource.app == target["app"]))
