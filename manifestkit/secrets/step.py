"""The secrets step: references in Secrets and container ``env`` turned into the chosen output.

1. A ref in a ConfigMap or in an annotation is an error: neither is secret.
2. A ref in a container's ``env[].value`` moves into a generated Secret ``<app>-env`` (key =
   the variable's name); the variable becomes a ``secretKeyRef``.
3. Secrets with ``mirror:`` are copied into the matching namespaces (:mod:`.mirror`).
4. Every Secret goes through its output mode (:data:`.modes.MODES`): the Secret's own
   ``output:``, else ``--secret-output``, the overlays, the Project. Modes that resolve
   share one :class:`~manifestkit.secrets.backends.BackendContext` per render.
5. Pods that use a ``vault-agent`` Secret get the ``vault/agent`` pattern.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean, one_of
from manifestkit.kinds import CONTAINER_LISTS, containers, pod_template, with_pod_template
from manifestkit.model import Options, Project, RenderContext, Resource
from manifestkit.secrets import sops
from manifestkit.secrets.backends import backend_context, resolve
from manifestkit.secrets.mirror import mirror_secrets
from manifestkit.secrets.modes import MODES, RESOLVED, ModeContext, Resolver, SecretJob, keep_unchanged_sops
from manifestkit.secrets.refs import Ref, find_refs, has_refs
from manifestkit.secrets.vault import VaultReader, vault_config
from manifestkit.secrets.vault_agent import deliver_in_pod
from manifestkit.writer import OutFile

ENV_SECRET_SUFFIX = "-env"
RESOLVING = ("secret", "sops")
PATTERNS_ANNOTATION = "manifestkit.dev/patterns"


def resolve_secrets(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    """Pipeline step: see the module docstring."""
    problems = [*not_in_configmaps(resources), *not_in_annotations(resources)]
    if problems:
        raise ManifestkitError(problems)
    moved = env_refs_to_secrets(resources)
    mirrored = mirror_secrets(moved, ctx)
    jobs = [(r, job_of(r), mode_of(r, ctx)) for r in mirrored if r.kind == "Secret"]
    problems = [p for r, _, mode in jobs for p in _unknown_mode(r, mode)]
    problems += [p for r, job, _ in jobs for p in _bad_refs(r, job)]
    if problems:
        raise ManifestkitError(problems)
    needed = [ref for _, job, mode in jobs if mode in RESOLVING for ref in job.refs]
    mode_ctx = ModeContext(ctx.project.spec.get("secrets") or {}, resolver(ctx, needed), ctx.options.environ)
    out: list[Resource] = []
    in_pod: dict[tuple[str, str], SecretJob] = {}
    for resource in mirrored:
        if resource.kind != "Secret":
            out.append(resource)
            continue
        job, mode = job_of(resource), mode_of(resource, ctx)
        if mode not in RESOLVING and not job.templates:
            out.append(_settled(resource))      # nothing to leave unresolved: the Secret as written
            continue
        if MODES[mode].in_pod:
            in_pod[(resource.namespace, resource.name)] = job
        try:
            out.extend(MODES[mode].convert(job, mode_ctx))
        except ManifestkitError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise ManifestkitError(problems)
    return deliver_agents(out, in_pod, mode_ctx.settings) if in_pod else out


def _settled(resource: Resource) -> Resource:
    return resource._replace(extra={k: v for k, v in resource.extra.items() if k not in ("output", "mirror")})


# ------------------------------------------------------------------ refs where they may not be


def _where(resource: Resource) -> dict[str, Any]:
    file, _, line = resource.origin.rpartition(":")
    return {"file": file or resource.origin, "line": int(line) if line.isdigit() else 0}


def not_in_configmaps(resources: Sequence[Resource]) -> list[Diagnostic]:
    """A ref in a ConfigMap would be resolved into an object anyone may read."""
    return [Diagnostic(f"{r.ref()}: data.{key} holds a secret reference, but a ConfigMap is not secret",
                       hint="move the value into the App's `secrets:` and mount or reference that Secret",
                       **_where(r))
            for r in resources if r.kind == "ConfigMap"
            for key, value in sorted((r.obj.get("data") or {}).items()) if isinstance(value, str) and has_refs(value)]


def _annotation_maps(obj: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield "metadata.annotations", (obj.get("metadata") or {}).get("annotations") or {}
    template = pod_template(obj)
    if template is not None:
        yield "pod template annotations", (template.get("metadata") or {}).get("annotations") or {}


def not_in_annotations(resources: Sequence[Resource]) -> list[Diagnostic]:
    """Annotations are readable by anyone who may list the object."""
    return [Diagnostic(f"{r.ref()}: {where} {key!r} holds a secret reference, but annotations are not secret",
                       hint="move the value into the App's `secrets:`", **_where(r))
            for r in resources for where, annotations in _annotation_maps(r.obj)
            for key, value in sorted(annotations.items()) if isinstance(value, str) and has_refs(value)]


# ------------------------------------------------------------------ env refs → <app>-env Secret


def env_secret_name(resource: Resource) -> str:
    return f"{resource.app or resource.name}{ENV_SECRET_SUFFIX}"


def _env_ref(var: Any) -> bool:
    return isinstance(var, Mapping) and isinstance(var.get("value"), str) and has_refs(var["value"])


def _moved_env(container: Mapping[str, Any], secret: str, keys: dict[str, str]) -> dict[str, Any]:
    """The container with each ref-holding env value replaced by a secretKeyRef; ``keys``
    collects ``secret key → value text`` (a clash of names gets ``<container>.<NAME>``)."""
    env = []
    for var in container.get("env") or []:
        if not _env_ref(var):
            env.append(var)
            continue
        key = str(var["name"])
        if keys.get(key, var["value"]) != var["value"]:
            key = f"{container.get('name')}.{key}"
        keys[key] = var["value"]
        env.append({"name": var["name"], "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    return {**container, "env": env}


def _env_moved(resource: Resource, keys: dict[str, str]) -> Resource:
    template = pod_template(resource.obj) or {}
    spec = dict(template.get("spec") or {})
    secret = env_secret_name(resource)
    for field in CONTAINER_LISTS:
        if any(_env_ref(v) for c in spec.get(field) or [] for v in c.get("env") or []):
            spec[field] = [_moved_env(c, secret, keys) for c in spec[field]]
    return resource.replace_obj(with_pod_template(resource.obj, {**template, "spec": spec}))


def _env_secret(workload: Resource, keys: Mapping[str, str]) -> Resource:
    meta = workload.obj.get("metadata") or {}
    new_meta: dict[str, Any] = {"name": env_secret_name(workload)}
    if meta.get("namespace"):
        new_meta["namespace"] = meta["namespace"]
    if meta.get("labels"):
        new_meta["labels"] = dict(meta["labels"])
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": new_meta, "type": "Opaque",
           "stringData": dict(sorted(keys.items()))}
    return Resource(obj, workload.app, workload.origin)


def env_refs_to_secrets(resources: Sequence[Resource]) -> list[Resource]:
    """Workloads with env refs rewritten, plus one generated Secret per app and namespace."""
    out: list[Resource] = []
    generated: dict[tuple[str, str], tuple[Resource, dict[str, str]]] = {}
    for resource in resources:
        template = pod_template(resource.obj)
        spec = (template or {}).get("spec") or {}
        if not any(_env_ref(v) for _, _, c in containers(spec) for v in c.get("env") or []):
            out.append(resource)
            continue
        slot = (resource.namespace, env_secret_name(resource))
        _, keys = generated.setdefault(slot, (resource, {}))
        out.append(_env_moved(resource, keys))
    taken = {(r.namespace, r.name): r for r in out if r.kind == "Secret"}
    clashes = [Diagnostic(f"{taken[slot].ref()}: the name is also the generated Secret for env references of "
                          f"{workload.ref()}", hint="rename the Secret in `secrets:`", **_where(taken[slot]))
               for slot, (workload, _) in generated.items() if slot in taken]
    if clashes:
        raise ManifestkitError(clashes)
    return [*out, *(_env_secret(workload, keys) for workload, keys in generated.values())]


# ------------------------------------------------------------------ jobs and modes


def job_of(resource: Resource) -> SecretJob:
    """Split a Secret's values: with refs (plain text), without (plain), ``data`` without (base64)."""
    templates: dict[str, str] = {}
    encoded: dict[str, str] = {}
    for key, value in (resource.obj.get("data") or {}).items():
        if isinstance(value, str) and has_refs(value):
            templates[key] = value
        elif value is not None:
            encoded[key] = str(value)
    plain: dict[str, str] = {}
    for key, value in (resource.obj.get("stringData") or {}).items():
        encoded.pop(key, None)          # stringData wins over data, as in the API server
        templates.pop(key, None)
        text = value if isinstance(value, str) else str(value)
        (templates if has_refs(text) else plain)[key] = text
    return SecretJob(resource, templates, plain, encoded)


def mode_of(resource: Resource, ctx: RenderContext) -> str:
    return str(resource.extra.get("output") or ctx.secret_output())


def _unknown_mode(resource: Resource, mode: str) -> list[Diagnostic]:
    if mode in MODES:
        return []
    return [Diagnostic(f"{resource.ref()}: unknown secrets output {mode!r}; expected one of: {one_of(MODES)}",
                       hint=did_you_mean(mode, list(MODES)), **_where(resource))]


def _bad_refs(resource: Resource, job: SecretJob) -> list[Diagnostic]:
    problems = []
    for key, text in sorted(job.templates.items()):
        try:
            find_refs(text)
        except ValueError as exc:
            problems.append(Diagnostic(f"{resource.ref()}: key {key!r}: {exc}", **_where(resource)))
    return problems


# ------------------------------------------------------------------ backends


def age_key_file(project: Project) -> str | None:
    """``spec.secrets.sops.ageKeyFile``, relative to the project folder unless absolute or ``~``."""
    configured = ((project.spec.get("secrets") or {}).get("sops") or {}).get("ageKeyFile")
    if not configured:
        return None
    text = str(configured)
    return text if text.startswith("~") or Path(text).is_absolute() else str(project.root / text)


def sops_keys(project: Project, environ: Mapping[str, str]) -> sops.SopsKeys:
    """Where sops data keys come from; ``spec.secrets.sops.useBinary: true`` hands decryption
    to a `sops` binary on PATH instead (for key sources we do not read natively, e.g. cloud KMS)."""
    config = (project.spec.get("secrets") or {}).get("sops") or {}
    keys = sops.keys_from_env(environ, age_key_file(project))
    return keys._replace(use_binary=bool(config.get("useBinary", False)))


def resolver(ctx: RenderContext, needed: Sequence[Ref]) -> Resolver:
    """One backend context for the render; Vault and sops keys only set up when a ref needs them."""
    schemes = {ref.scheme for ref in needed}
    environ = ctx.options.environ
    secrets = ctx.project.spec.get("secrets") or {}
    vault = VaultReader(vault_config(secrets.get("vault"), environ)) if "vault" in schemes else None
    keys = sops_keys(ctx.project, environ) if "sops" in schemes else sops.SopsKeys()
    backends = backend_context(ctx.project.root, environ, vault, keys)
    return lambda ref, origin: resolve(ref, backends._replace(origin=origin))


# ------------------------------------------------------------------ vault-agent


def _labelled(obj: Mapping[str, Any], owner: Resource) -> dict[str, Any]:
    """An object made for a workload carries the workload's labels."""
    labels = (owner.obj.get("metadata") or {}).get("labels")
    if not labels:
        return dict(obj)
    meta = dict(obj.get("metadata") or {})
    return {**obj, "metadata": {**meta, "labels": {**labels, **(meta.get("labels") or {})}}}


def _mark_pattern(template: Mapping[str, Any]) -> dict[str, Any]:
    """Record ``vault/agent`` in ``manifestkit.dev/patterns``, as the pattern step does."""
    meta = dict(template.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    applied = [p for p in annotations.get(PATTERNS_ANNOTATION, "").split(",") if p]
    annotations[PATTERNS_ANNOTATION] = ",".join([*applied, "vault/agent"])
    return {**template, "metadata": {**meta, "annotations": annotations}}


def deliver_agents(resources: list[Resource], in_pod: Mapping[tuple[str, str], SecretJob],
                   settings: Mapping[str, Any]) -> list[Resource]:
    """Pods that use a ``vault-agent`` Secret get the Vault agent; an unused one is an error."""
    out: list[Resource] = []
    used: set[tuple[str, str]] = set()
    problems: list[Diagnostic] = []
    for resource in resources:
        template = pod_template(resource.obj)
        if template is None:
            out.append(resource)
            continue
        mine = {name: job for (ns, name), job in in_pod.items() if ns == resource.namespace}
        try:
            new_template, objects, names = deliver_in_pod(template, mine, settings, resource.name, resource.namespace)
        except ManifestkitError as exc:
            problems.extend(d if d.file else d._replace(**_where(resource)) for d in exc.diagnostics)
            continue
        used.update((resource.namespace, n) for n in names)
        if not names:
            out.append(resource)
            continue
        out.append(resource.replace_obj(with_pod_template(resource.obj, _mark_pattern(new_template))))
        out.extend(Resource(_labelled(obj, resource), resource.app, resource.origin) for obj in objects)
    problems = problems or [Diagnostic(f"{job.resource.ref()}: secrets output vault-agent delivers values into the pods that "
                            f"mount the Secret, but no workload of this render mounts it",
                            hint="mount it as a volume, or set `output: secret` or `output: external-secret` on it",
                            **_where(job.resource))
                 for slot, job in sorted(in_pod.items()) if slot not in used]
    if problems:
        raise ManifestkitError(problems)
    return out



# ------------------------------------------------------------------ hygiene (called by `render`)


def git_work_tree(path: Path) -> Path | None:
    """The git work tree holding ``path`` (which may not exist yet), found by its ``.git``."""
    for folder in [path.resolve(), *path.resolve().parents]:
        if (folder / ".git").exists():
            return folder
    return None


def warn_plaintext(target: Path, resources: Sequence[Resource], options: Options) -> bool:
    """Warn on stderr when Secrets with resolved values are about to be written inside a git
    work tree (a `git add .` away from a leak); ``--allow-plaintext-secrets`` silences it."""
    resolved = sorted({r.ref() for r in resources if r.extra.get(RESOLVED)})
    if not resolved or options.allow_plaintext_secrets:
        return False
    tree = git_work_tree(target)
    if tree is None:
        return False
    shown = ", ".join(resolved[:3]) + (f" and {len(resolved) - 3} more" if len(resolved) > 3 else "")
    print(f"manifestkit: warning: writing {len(resolved)} Secret(s) with resolved values in plain text to {target}, "
          f"inside the git work tree {tree}: {shown}\n  hint: keep the output folder out of git, use "
          f"--secret-output sops, or pass --allow-plaintext-secrets", file=sys.stderr)
    return True


def reuse_unchanged_sops(target: Path, files: Mapping[str, OutFile], project: Project,
                         options: Options) -> dict[str, OutFile]:
    """Keep the previous bytes of sops Secrets whose content did not change (see
    :func:`~manifestkit.secrets.modes.keep_unchanged_sops`); needs a key that opens them."""
    if not target.is_dir() or not any(b"\nsops:\n" in f.data for f in files.values()):
        return dict(files)
    try:
        keys = sops_keys(project, options.environ)
    except ManifestkitError:
        return dict(files)
    return keep_unchanged_sops(target, files, keys)
