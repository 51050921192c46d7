"""Agent delivery: pods that mount a ``vault-agent`` Secret get the ``vault/agent`` pattern serving its values as files.

Each volume of such a Secret is dropped; its mounts become mounts of the agent's RAM
emptyDir (``subPath: <secret>``), and every key becomes a template the agent renders
into that folder. A ``vault-agent`` Secret that no pod of the render mounts is an error.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError, error, gather
from manifestkit.kinds import CONTAINER_LISTS, pod_template, with_pod_template
from manifestkit.model import Resource
from manifestkit.patterns.apply import merge
from manifestkit.patterns.engine import ANNOTATION as PATTERNS_ANNOTATION
from manifestkit.patterns.model import Obj, PatternError, PatternInput
from manifestkit.patterns.vault_agent import first_path, vault_agent
from manifestkit.patterns.vault_agent_config import SECRETS_VOLUME
from manifestkit.secrets.go_templates import literal, template_of
from manifestkit.secrets.jobs import SecretJob, located
from manifestkit.secrets.vault_kv import KvLookup, kv_table, vault_lookup


def agent_params(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Pattern parameters from the Project's ``spec.secrets.vaultAgent`` (address falls back
    to ``spec.secrets.vault.address``)."""
    agent = dict(settings.get("vaultAgent") or {})
    if not agent.get("role"):
        raise error("secrets output vault-agent needs the Vault role the pods log in with, but "
                    "spec.secrets.vaultAgent.role is not set",
                    hint="add spec.secrets.vaultAgent: {role: <kubernetes auth role>} to manifestkit.yaml")
    address = agent.get("address") or (settings.get("vault") or {}).get("address")
    return {**agent, **({"address": address} if address else {})}


def _uses(pod: Mapping[str, Any], names: Mapping[str, Any]) -> list[str]:
    """Problems: the pod reads an agent Secret through env or projection (no file to render)."""
    problems = []
    for volume in pod.get("volumes") or []:
        for source in (volume.get("projected") or {}).get("sources") or []:
            if (source.get("secret") or {}).get("name") in names:
                problems.append(f"volume {volume.get('name')!r} projects Secret {source['secret']['name']!r}")
    for field in CONTAINER_LISTS:
        for c in pod.get(field) or []:
            for var in c.get("env") or []:
                ref = ((var.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name")
                if ref in names:
                    problems.append(f"container {c.get('name')!r} reads env {var.get('name')!r} from Secret {ref!r}")
            for source in c.get("envFrom") or []:
                ref = (source.get("secretRef") or {}).get("name")
                if ref in names:
                    problems.append(f"container {c.get('name')!r} reads envFrom Secret {ref!r}")
    return problems


def kv_lookup(settings: Mapping[str, Any], environ: Mapping[str, str]) -> KvLookup | None:
    """Vault's mount table as a KV version lookup, when ``spec.secrets.vault.kvLookup`` asks for it."""
    vault = settings.get("vault") or {}
    if not vault.get("kvLookup"):
        return None
    from manifestkit.secrets.vault import VaultReader, vault_config

    return vault_lookup(VaultReader(vault_config(vault, environ)))


def _template(key: str, text: str, kv: Mapping[str, int], lookup: KvLookup | None) -> str:
    try:
        return template_of(text, kv, lookup)
    except ValueError as exc:
        raise error(f"key {key!r}: {exc}") from None


def _files(job: SecretJob, items: Sequence[Mapping[str, Any]], kv: Mapping[str, int],
           lookup: KvLookup | None) -> dict[str, str]:
    """File (inside the Secret's folder) → consul-template text, for the keys the volume shows."""
    texts = {**{k: literal(v) for k, v in job.plain.items()},
             **{k: literal(base64.b64decode(v).decode("utf-8", "replace")) for k, v in job.encoded.items()},
             **{k: _template(k, v, kv, lookup) for k, v in job.templates.items()}}
    if not items:
        return texts
    return {str(item["path"]): texts[item["key"]] for item in items if item.get("key") in texts}


def _remount(container: Mapping[str, Any], volumes: Mapping[str, str], injector: bool) -> Obj:
    mounts = []
    for mount in container.get("volumeMounts") or []:
        secret = volumes.get(mount.get("name"))
        if secret is None:
            mounts.append(mount)
        elif not injector:
            sub = f"{secret}/{mount['subPath']}" if mount.get("subPath") else secret
            mounts.append({"name": SECRETS_VOLUME, "mountPath": mount["mountPath"], "subPath": sub, "readOnly": True})
    return {**container, "volumeMounts": mounts} if mounts else {k: v for k, v in container.items()
                                                                 if k != "volumeMounts"}


def _mount_paths(pod: Mapping[str, Any], volume: str, secret: str, injector: bool) -> list[str]:
    """The folders where the app sees a Secret volume, each once; the injector cannot serve a ``subPath``."""
    mounts = [m for c in pod.get("containers") or [] for m in c.get("volumeMounts") or [] if m.get("name") == volume]
    for m in mounts:
        if injector and m.get("subPath"):
            raise error(f"Secret {secret!r} is mounted with subPath {m['subPath']!r} at {m['mountPath']!r}, but the "
                        f"Vault Agent Injector mounts a whole folder at secret-volume-path, which would hide the "
                        f"rest of {m['mountPath'].rsplit('/', 1)[0] or '/'!r}",
                        hint="mount the Secret as a folder of its own, or set vaultAgent.mode: sidecar")
    return list(dict.fromkeys(str(m["mountPath"]) for m in mounts))


def deliver_in_pod(template: Mapping[str, Any], jobs: Mapping[str, SecretJob], settings: Mapping[str, Any],
                   name: str, namespace: str | None,
                   lookup: KvLookup | None = None) -> tuple[Obj, tuple[Obj, ...], list[str]]:
    """The pod template with its ``vault-agent`` Secret volumes served by the Vault agent.

    Each volume of such a Secret is dropped; its mounts become mounts of the agent's RAM
    emptyDir (``subPath: <secret>``), and every key a template rendered into that folder.
    Returns the new template, extra objects (the agent ConfigMap) and the Secrets used.
    """
    pod = template.get("spec") or {}
    volumes = {str(v["name"]): str(v["secret"]["secretName"]) for v in pod.get("volumes") or []
               if (v.get("secret") or {}).get("secretName") in jobs}
    problems = _uses(pod, jobs)
    if problems:
        raise error(f"secrets output vault-agent renders Secrets as files, but {'; '.join(problems)}",
                    hint="mount the Secret as a volume, or set `output: secret` on it")
    if not volumes:
        return dict(template), (), []
    params = agent_params(settings)
    injector = params.get("mode") == "injector"
    templates: dict[str, dict[str, str]] = {}
    for volume, secret in sorted(volumes.items()):
        spec = next(v for v in pod["volumes"] if v["name"] == volume)
        paths = _mount_paths(pod, volume, secret, injector)
        for file, text in sorted(
            _files(jobs[secret], spec["secret"].get("items") or [], kv_table(settings), lookup).items()
        ):
            # The injector serves one folder per secret name: a Secret mounted twice is two names.
            for n, folder in enumerate(paths if injector else [""]):
                entry = {"file": f"{secret}{f'-{n + 1}' if n else ''}/{file}", "template": text}
                if folder:
                    entry.update(volumePath=folder, injectFile=file)
                path = first_path(text)
                if path:
                    entry["path"] = path
                templates.setdefault(entry["file"], entry)
    new_pod: Obj = {**pod, "volumes": [v for v in pod["volumes"] if v["name"] not in volumes]}
    if not new_pod["volumes"]:
        del new_pod["volumes"]
    for field in CONTAINER_LISTS:
        if field in pod:
            new_pod[field] = [_remount(c, volumes, injector) for c in pod[field]]
    new_template: Obj = {**template, "spec": new_pod}
    inp = PatternInput(
        name=name,
        namespace=namespace,
        params={**params, "templates": list(templates.values()), "mountInto": []},
        pod=new_template,
        service=None,
    )
    try:
        out = vault_agent(inp)
    except PatternError as exc:
        raise error(f"vault/agent: {exc.message}", hint=exc.hint) from None
    merged = merge(new_template, None, out, "vault/agent")
    if merged.conflicts:
        raise error(f"vault/agent: {'; '.join(merged.conflicts)}")
    return merged.pod, out.objects, sorted(set(volumes.values()))


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
                   settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> list[Resource]:
    """Pods that use a ``vault-agent`` Secret get the Vault agent; an unused one is an error."""
    lookup = kv_lookup(settings, environ or {})
    delivered = gather(resources, lambda resource: [_delivered(resource, in_pod, settings, lookup)])
    out = [r for objects, _ in delivered for r in objects]
    used = {slot for _, slots in delivered for slot in slots}
    problems = [
        Diagnostic(
            message=f"{job.resource.ref()}: secrets output vault-agent delivers values into the pods that "
            f"mount the Secret, but no workload of this render mounts it",
            hint="mount it as a volume, or set `output: secret` or `output: external-secret` on it",
            **located(job.resource),
        )
        for slot, job in sorted(in_pod.items())
        if slot not in used
    ]
    if problems:
        raise ManifestkitError(problems)
    return out


def _delivered(resource: Resource, in_pod: Mapping[tuple[str, str], SecretJob], settings: Mapping[str, Any],
               lookup: KvLookup | None) -> tuple[list[Resource], list[tuple[str, str]]]:
    """The resource, with the agent in its pod and the objects the agent needs when it mounts
    ``vault-agent`` Secrets, and the (namespace, name) of those Secrets."""
    template = pod_template(resource.obj)
    if template is None:
        return [resource], []
    mine = {name: job for (ns, name), job in in_pod.items() if ns == resource.namespace}
    try:
        new_template, objects, names = deliver_in_pod(
            template, mine, settings, resource.name, resource.namespace, lookup
        )
    except ManifestkitError as exc:  # adds the workload's place to problems that have none
        raise ManifestkitError(
            d if d.file else dataclasses.replace(d, **located(resource)) for d in exc.diagnostics
        ) from None
    if not names:
        return [resource], []
    workload = resource.replace_obj(with_pod_template(resource.obj, _mark_pattern(new_template)))
    around = [
        Resource(obj=_labelled(obj, resource), app=resource.app, source=resource.source.derived()) for obj in objects
    ]
    return [workload, *around], [(resource.namespace, n) for n in names]

