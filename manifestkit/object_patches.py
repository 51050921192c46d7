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
    out, problems, _ = apply_patches(resources, ctx)
    if problems:
        raise ManifestkitError(problems)
    return out


def apply_patches(resources: list[Resource], ctx: RenderContext,
                  unmatched_ok: bool = False) -> tuple[list[Resource], list[Diagnostic], set[tuple[int, str | None]]]:
    """The patched objects, the problems, and which entries (their place in ``ctx.settings.patches``) matched
    objects of which apps. With ``unmatched_ok`` an entry that matches nothing is not a problem: a render of some
    of the apps (:mod:`manifestkit.render_units`) checks that against the other apps."""
    out = list(resources)
    problems: list[Diagnostic] = []
    matched: set[tuple[int, str | None]] = set()
    for number, (overlay, index) in enumerate(ctx.settings.patches):
        hit = {out[i].app for i, r in enumerate(out) if _matches(r, overlay.spec["patches"][index]["target"])}
        matched.update((number, app) for app in hit)
        if hit or not unmatched_ok:
            out = _apply(out, overlay, index, problems)
    return out, problems, matched


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
