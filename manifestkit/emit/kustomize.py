"""`--format kustomize`: ``base/`` (the render with no overlays) and ``overlays/<env>/``, one
kustomization per app in each (``base/<app>/``, ``overlays/<env>/<app>/``), listed by
``base/kustomization.yaml`` and ``overlays/<env>/kustomization.yaml``.

One kustomization per app keeps real Kustomize linear in the number of apps: its
transformers and patch targets scan every object of their kustomization (and the namespace
transformer checks every object against every other), so over one kustomization of the
whole render they cost apps × objects. Each app can also be built alone (one Argo CD
Application per app). Each app's overlay lists ``../../../base/<app>`` and uses Kustomize's
own transformers where they give exactly the environment's render — ``namespace``,
``labels`` (with ``includeTemplates``), ``images``, ``replicas`` — and per-object RFC 6902
``patches`` for everything else. The patches are computed against
what the transformers will not do ("unfeatured" objects), because Kustomize applies
``patches`` before the transformers. A transformer is used only when, predicted on every
object, it yields the environment's object; otherwise its changes go into the patches.
Objects new in an environment are resources of the overlay; objects an environment drops
are removed with a ``$patch: delete`` patch. Never the deprecated ``commonLabels``,
``patchesStrategicMerge``, ``vars`` or ``bases``. With ``spec.secrets.sops.layout: ksops``
the sops Secrets are left out of the base and each overlay generates its own through a
KSOPS generator (:mod:`manifestkit.emit.sops_layouts`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jsonpatch
import orjson

from manifestkit.emit import EmitInput, Emitted, Memo
from manifestkit.emit.kustomize_features import Features, Key, Obj, choose_features, unfeature
from manifestkit.emit.plain import SECRET_KINDS, object_file, object_path
from manifestkit.emit.sops_layouts import KSOPS_DIR, KSOPS_FILE, is_sops_secret, ksops_file, layout_of
from manifestkit.json_copy import json_copy, same_json
from manifestkit.model import Resource
from manifestkit.writer import OutFile
from manifestkit.yaml_dump import dump

KUSTOMIZATION = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}


def emit_kustomize(job: EmitInput) -> Emitted:
    # sops Secrets never sit in the base: each environment has its own ciphertext, and a
    # patch over ciphertext (or a transformer over a sealed object) would break its MAC.
    ksops = layout_of(job.project) == "ksops"
    # A Secret that differs between environments is written whole in each overlay (0600): a
    # patch in kustomization.yaml (0644) would carry its values.
    varying = varying_secrets(job.base, list(job.renders.values()))

    def whole(resource: Resource) -> bool:
        return is_sops_secret(resource) or (resource.app, resource.kind, resource.name) in varying

    project = job.project.name
    base = by_app([r for r in job.base if not whole(r)], project)
    envs = {env: by_app(rendered, project) for env, rendered in sorted(job.renders.items())}
    files: dict[str, OutFile] = {"base/kustomization.yaml": _yaml({**KUSTOMIZATION, "resources": sorted(base)})}
    files.update((f"overlays/{env}/kustomization.yaml", _yaml({**KUSTOMIZATION, "resources": sorted(apps)}))
                 for env, apps in envs.items())
    for app in sorted({*base, *(a for apps in envs.values() for a in apps)}):
        def made(app: str = app) -> Mapping[str, OutFile]:
            return _app_files(app, base, envs, job, whole, ksops)

        files.update(_remembered(job.memo, app, base, envs, job, whole, ksops, made))
    return Emitted(files=files, scope=["base", *(f"overlays/{env}" for env in sorted(job.renders))])


def _app_files(app: str, base: Mapping[str, list[Resource]], envs: Mapping[str, Mapping[str, list[Resource]]],
               job: EmitInput, whole: Callable[[Resource], bool], ksops: bool) -> dict[str, OutFile]:
    """The files of one app: its base kustomization and its overlay in each environment."""
    files: dict[str, OutFile] = {}
    if app in base:
        files.update({f"base/{app}/{object_path(r)}": object_file(r) for r in base[app]})
        listed = [object_path(r) for r in base[app]]
        files[f"base/{app}/kustomization.yaml"] = _yaml({**KUSTOMIZATION, "resources": listed})
    for env, apps in envs.items():
        if app in apps:
            overlay = overlay_files(base.get(app, []), apps[app], job.image_rules.get(env, ()), whole, ksops,
                                    f"../../../base/{app}" if app in base else None)
            files.update({f"overlays/{env}/{app}/{rel}": out for rel, out in overlay.items()})
    return files


def _remembered(memo: Memo | None, app: str, base: Mapping[str, list[Resource]],
                envs: Mapping[str, Mapping[str, list[Resource]]], job: EmitInput, whole: Callable[[Resource], bool],
                ksops: bool, made: Callable[[], Mapping[str, OutFile]]) -> Mapping[str, OutFile]:
    """The app's files from ``memo`` when an earlier render emitted them from the same input, else ``made()`` (kept
    in ``memo`` for the next render). The digest covers every object of the app in order, as data (dict order
    included: it is the order of the YAML), which of them are written whole, each environment's image rules and the
    sops layout; the emitter's own code is in the caller's key."""
    mine = [*base.get(app, []), *(r for apps in envs.values() for r in apps.get(app, []))]
    if memo is None or not mine or any(r.app not in memo.apps for r in mine):
        return made()
    try:
        digest = hashlib.sha256(orjson.dumps([
            app, ksops, [[r.obj, whole(r)] for r in base.get(app, [])],
            [[env, job.image_rules.get(env, ()), [[r.obj, whole(r)] for r in apps.get(app, [])]]
             for env, apps in envs.items()]])).hexdigest()
    except TypeError:   # orjson.JSONEncodeError: something JSON does not hold exactly is not kept
        return made()
    # A base file holds one of the app's objects as rendered: kept without it, given it again when found.
    held = {f"base/{app}/{object_path(r)}": (r.obj,) for r in base.get(app, [])}
    found = memo.find(digest)
    if found is not None:
        return {rel: OutFile(out.data, out.mode, held[rel]) if rel in held else out for rel, out in found.items()}
    files = made()
    memo.keep(digest, {rel: OutFile(out.data, out.mode) if rel in held else out for rel, out in files.items()})
    return files


def by_app(resources: Sequence[Resource], project: str) -> dict[str, list[Resource]]:
    """Objects by app, sorted by app name; objects of no app (the project's own) under the project's name."""
    out: dict[str, list[Resource]] = {}
    for resource in resources:
        out.setdefault(resource.app or project, []).append(resource)
    return dict(sorted(out.items()))


def _never(resource: Resource) -> bool:
    return False


def overlay_files(base: Sequence[Resource], env: Sequence[Resource],
                  image_rules: Sequence[Mapping[str, str]] = (),
                  sealed: Callable[[Resource], bool] = _never, ksops: bool = False,
                  base_dir: str | None = "../../base") -> dict[str, OutFile]:
    """The files of one overlay of ``base_dir`` (None: no base): kustomization.yaml and the
    objects new in this environment.
    ``sealed`` objects (sops Secrets) are written exactly as rendered — the overlay's
    transformers then set only what they already hold, so the MAC stays valid — as
    resources (Flux decrypts them) or, with ``ksops``, through a KSOPS generator."""
    base_by = _by_key(base)
    env_by = _by_key(env)
    features = choose_features(base_by, env_by, image_rules)
    files: dict[str, OutFile] = {}
    resources = [base_dir] if base_dir else []
    patches: list[Obj] = []
    secrets: list[str] = []
    for key, resource in env_by.items():
        before = base_by.get(key)
        wanted = unfeature(resource.obj, before.obj if before else None, features)
        if before is None and sealed(resource):
            generated = ksops and is_sops_secret(resource)
            rel = f"{KSOPS_DIR if generated else 'resources'}/{object_path(resource)}"
            files[rel] = object_file(resource)
            (secrets if generated else resources).append(rel)
            continue
        if before is None:
            rel = f"resources/{object_path(resource)}"
            files[rel] = object_file(resource.replace_obj(wanted))
            resources.append(rel)
            continue
        old = json_copy(before.obj)
        ops = [] if same_json(old, wanted) else jsonpatch.make_patch(old, wanted).patch   # the same: no diff needed
        if ops:
            patches.append({"target": target(before.obj), "patch": dump(ops)})
    patches.extend(_delete_patch(base_by[key].obj) for key in base_by if key not in env_by)
    if secrets:
        files[KSOPS_FILE] = ksops_file(secrets)
    files["kustomization.yaml"] = _yaml(kustomization(resources, features, patches, [KSOPS_FILE] if secrets else []))
    return files


def kustomization(resources: list[str], features: Features, patches: list[Obj], generators: Sequence[str] = ()) -> Obj:
    out: Obj = {**KUSTOMIZATION, "resources": resources}
    if generators:
        out["generators"] = list(generators)
    if features.namespace:
        out["namespace"] = features.namespace
    if features.labels:
        out["labels"] = [{"pairs": dict(features.labels), "includeSelectors": False,
                          "includeTemplates": features.template_labels}]
    if features.images:
        out["images"] = [dict(rule) for rule in features.images]
    if features.replicas:
        out["replicas"] = [{"name": name, "count": count} for name, count in sorted(features.replicas.items())]
    if patches:
        out["patches"] = patches
    return out


def target(obj: Mapping[str, Any]) -> Obj:
    """A patch target selecting exactly ``obj`` (as it is in the base)."""
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    out: Obj = {"group": group, "version": version, "kind": obj["kind"], "name": obj["metadata"]["name"]}
    if obj["metadata"].get("namespace"):
        out["namespace"] = obj["metadata"]["namespace"]
    return out


def _delete_patch(obj: Mapping[str, Any]) -> Obj:
    meta = {k: obj["metadata"][k] for k in ("name", "namespace") if obj["metadata"].get(k)}
    patch = {"$patch": "delete", "apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": meta}
    return {"target": target(obj), "patch": dump(patch)}


def varying_secrets(base: Sequence[Resource], renders: Sequence[Sequence[Resource]]) -> set[Key]:
    """The Secrets that are not the same object in the base and every environment."""
    by = [_by_key(base), *(_by_key(env) for env in renders)]
    keys = {key for versions in by for key in versions if key[1] in SECRET_KINDS}
    return {key for key in keys if len({dump(v[key].obj) if key in v else "" for v in by}) > 1}


# ------------------------------------------------------------------ helpers

def _by_key(resources: Sequence[Resource]) -> dict[Key, Resource]:
    return {(r.app, r.kind, r.name): r for r in resources}


def _yaml(obj: Mapping[str, Any]) -> OutFile:
    return OutFile(dump(obj).encode("utf-8"))
