"""The secrets step: references in Secrets and container ``env`` turned into the chosen output.

1. A ref in a ConfigMap or in an annotation is an error: neither is secret (:mod:`.placement`).
2. A ref in a container's ``env[].value`` moves into a generated Secret ``<app>-env``
   (:mod:`.env_refs`).
3. Secrets with ``mirror:`` are copied into the matching namespaces (:mod:`.mirror`).
4. Every Secret goes through its output mode (:data:`.modes.MODES`): the Secret's own
   ``output:``, else ``--secret-output``, the overlays, the Project. Modes that resolve
   share one :class:`~manifestkit.secrets.backends.BackendContext` per render.
5. Pods that use a ``vault-agent`` Secret get the ``vault/agent`` pattern (:mod:`.agent_delivery`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean, gather, one_of
from manifestkit.model import RenderContext, Resource
from manifestkit.secrets.agent_delivery import deliver_agents
from manifestkit.secrets.backends import backend_context, resolve
from manifestkit.secrets.env_refs import env_refs_to_secrets
from manifestkit.secrets.jobs import ModeContext, Resolver, SecretJob, job_of, located
from manifestkit.secrets.mirror import mirror_secrets
from manifestkit.secrets.modes import MODES, RESOLVING
from manifestkit.secrets.placement import not_in_annotations, not_in_configmaps
from manifestkit.secrets.refs import Ref, find_refs
from manifestkit.secrets.sops_keys import SopsKeys, sops_keys
from manifestkit.secrets.vault import VaultReader, vault_config


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
    problems += [p for r, job, mode in jobs if mode in MODES and MODES[mode].in_pod for p in _keyless_refs(r, job)]
    if problems:
        raise ManifestkitError(problems)
    needed = [ref for _, job, mode in jobs if mode in RESOLVING for ref in job.refs]
    mode_ctx = ModeContext(settings=ctx.project.spec.get("secrets") or {}, resolve=resolver(ctx, needed),
                           environ=ctx.options.environ)
    in_pod = {(r.namespace, r.name): job for r, job, mode in jobs if _converted(job, mode) and MODES[mode].in_pod}
    out = gather(mirrored, lambda r: _converted_secret(r, ctx, mode_ctx) if r.kind == "Secret" else [r])
    return deliver_agents(out, in_pod, mode_ctx.settings, mode_ctx.environ) if in_pod else out


def _converted(job: SecretJob, mode: str) -> bool:
    """Whether the Secret goes through its mode; one that resolves nothing and has no refs stays as written."""
    return mode in RESOLVING or bool(job.templates)


def _converted_secret(resource: Resource, ctx: RenderContext, mode_ctx: ModeContext) -> list[Resource]:
    job, mode = job_of(resource), mode_of(resource, ctx)
    if not _converted(job, mode):
        return [_settled(resource)]      # nothing to leave unresolved: the Secret as written
    return MODES[mode].convert(job, mode_ctx)


def _settled(resource: Resource) -> Resource:
    return dataclasses.replace(resource, mirror=None, secret_output=None)

def mode_of(resource: Resource, ctx: RenderContext) -> str:
    mode = resource.secret_output or ctx.secret_output()
    return mode if isinstance(mode, str) else str(mode)   # the value itself: explain follows it to its file


def _unknown_mode(resource: Resource, mode: str) -> list[Diagnostic]:
    if mode in MODES:
        return []
    return [Diagnostic(message=f"{resource.ref()}: unknown secrets output {mode!r}; expected one of: {one_of(MODES)}",
                       hint=did_you_mean(mode, list(MODES)), **located(resource))]


def _bad_refs(resource: Resource, job: SecretJob) -> list[Diagnostic]:
    problems = []
    for key, text in sorted(job.templates.items()):
        try:
            find_refs(text)
        except ValueError as exc:
            problems.append(Diagnostic(message=f"{resource.ref()}: key {key!r}: {exc}", **located(resource)))
    return problems



def _keyless_refs(resource: Resource, job: SecretJob) -> list[Diagnostic]:
    """The Vault agent renders one key per reference: a ref without ``#/key`` has nothing to render."""
    problems = []
    for key, text in sorted(job.templates.items()):
        try:
            refs = find_refs(text)
        except ValueError:
            continue   # reported by _bad_refs
        problems += [Diagnostic(message=f"{resource.ref()}: key {key!r}: {ref.raw}: the Vault agent needs a key "
                                        f"in the reference; found none",
                                hint=f"name the key, e.g. {ref.raw}#/password", **located(resource))
                     for ref in refs if ref.scheme == "vault" and not ref.key]
    return problems


def resolver(ctx: RenderContext, needed: Sequence[Ref]) -> Resolver:
    """One backend context for the render; Vault and sops keys only set up when a ref needs them."""
    schemes = {ref.scheme for ref in needed}
    environ = ctx.options.environ
    secrets = ctx.project.spec.get("secrets") or {}
    vault = VaultReader(vault_config(secrets.get("vault"), environ)) if "vault" in schemes else None
    keys = sops_keys(ctx.project, environ) if "sops" in schemes else SopsKeys()
    allow = (secrets.get("env") or {}).get("allow") or ()
    backends = backend_context(ctx.project.root, environ, vault, keys, env_allow=allow)
    return lambda ref, source: resolve(ref, dataclasses.replace(backends, source=source))

