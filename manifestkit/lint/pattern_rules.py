"""Pattern-aware lint checks: init containers and native sidecars, sidecars in Jobs,
init container order around a mesh or Vault agent, Vault KV v2 templates, unresolved
secret references.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from manifestkit.kinds import PROBES, runs_to_completion
from manifestkit.lint.base import Hit, LintContext
from manifestkit.lint.podspec import Container, Pod, as_map, command_text, image_name
from manifestkit.lint.refs import REFERENCE, is_kv1_path, is_kv2_path, line_offset, secret_reads, strings
from manifestkit.patterns.vault_agent_config import INJECT
from manifestkit.patterns.vault_agent_injector import check_annotations


def check_init_probe(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """Probes on an init container that is not a native sidecar: the API rejects the pod.

    https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/
    """
    for c in pod.containers if pod else ():
        if c.init and not c.native_sidecar:
            for probe in PROBES:
                if probe in c.c:
                    yield Hit(
                        (*c.path, probe),
                        f"init container {c.name!r} has a {probe}; the API accepts probes only on native sidecars",
                        hint="remove the probe, or make it a native sidecar with restartPolicy: Always (Kubernetes "
                             "1.29+)",
                    )


# Images and commands of processes that never exit on their own.
_DAEMON_IMAGES = re.compile(
    r"(^|/)(envoy|envoyproxy/envoy[^/]*|proxyv2|istio-proxy|linkerd[^/]*proxy|proxy|cloud-sql-proxy|cloudsql-proxy|"
    r"fluent-bit|fluentd|filebeat|promtail|vector|otel[^/]*collector[^/]*|opentelemetry-collector[^/]*|nginx|haproxy|"
    r"redis|memcached|oauth2-proxy|[a-z0-9-]*-exporter|ghostunnel|stunnel)$")
_DAEMON_COMMANDS = re.compile(
    r"\btail\s+-[a-zA-Z]*[fF]\b|\bsleep\s+infinity\b|\bwhile\s+(true|:)\b|\bagent\b(?!.*exit.after.auth)"
)


def looks_long_running(c: Container) -> bool:
    """A sidecar-like container: a proxy, log shipper, cache or exporter image, or a
    command that loops forever (``tail -f``, ``sleep infinity``, ``vault agent``)."""
    return bool(_DAEMON_IMAGES.search(image_name(c.c)) or _DAEMON_COMMANDS.search(command_text(c.c)))


def check_job_sidecar(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """A classic long-running sidecar in a Job or CronJob: the Job never completes."""
    if not runs_to_completion(obj.get("kind")):
        return
    app = [c for c in pod.containers if not c.init] if pod else []
    sidecars = [c for c in app if looks_long_running(c)]
    if len(app) < 2 or len(sidecars) == len(app):
        return
    for c in sidecars:
        yield Hit(
            c.path,
            f"container {c.name!r} ({c.c.get('image', '?')}) keeps running, so the {obj.get('kind')} never completes",
            hint="move it to initContainers with restartPolicy: Always (a native sidecar, Kubernetes 1.29+)",
        )


_MESH_PROXY = re.compile(r"(istio-proxy|proxyv2|linkerd[^/]*proxy|envoy)")
_MESH_INIT = re.compile(r"(istio-init|linkerd[^/]*init|proxy-init|istio/proxyv2)")
_VAULT_IMAGE = re.compile(r"(^|/)(vault|openbao|bao)$")
_NEEDS_NETWORK = re.compile(r"://|\b(curl|wget|nc|nslookup|dig|psql|pg_isready|mysql|mysqladmin|redis-cli|mongosh?|git|flyway|liquibase|migrate|alembic|kubectl|helm|aws|gsutil|until)\b")


def _provider(c: Container) -> str:
    """'mesh proxy' / 'Vault agent' when an init container provides network or secrets, else ''."""
    name, image = c.name.lower(), image_name(c.c)
    if c.native_sidecar and (_MESH_PROXY.search(name) or _MESH_PROXY.search(image)):
        return "mesh proxy"
    if (_VAULT_IMAGE.search(image) and "agent" in command_text(c.c)) or "vault-agent" in name:
        return "Vault agent"
    return ""


def _needs_network(c: Container) -> bool:
    text = " ".join([c.name, image_name(c.c), command_text(c.c),
                     *(str(as_map(e).get("value", "")) for e in c.c.get("env") or [] if isinstance(e, Mapping))])
    return bool(_NEEDS_NETWORK.search(text))


def check_init_order(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """An init container that needs the network (or Vault secrets) placed before the mesh
    proxy or Vault agent init container it depends on: init containers run one by one,
    in order, so it starts before the proxy or the secrets exist."""
    inits = [c for c in pod.containers if c.init] if pod else []
    providers = [(i, _provider(c)) for i, c in enumerate(inits) if _provider(c)]
    if not providers:
        return
    last_index, last_kind = providers[-1]
    for c in inits[:last_index]:
        if _provider(c) or not _needs_network(c):
            continue
        provider = inits[last_index]
        yield Hit(
            c.path,
            f"init container {c.name!r} needs the network but runs before the {last_kind} init container "
            f"{provider.name!r}",
            hint=f"move {c.name!r} after {provider.name!r} in initContainers",
        )


def _template_texts(obj: Mapping[str, Any], pod: Pod | None) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if obj.get("kind") == "ConfigMap":
        for key, value in as_map(obj.get("data")).items():
            if isinstance(value, str):
                yield ("data", key), value
    meta_path, meta = (pod.meta_path, pod.meta) if pod else (("metadata",), as_map(obj.get("metadata")))
    for key, value in as_map(meta.get("annotations")).items():
        if str(key).startswith("vault.hashicorp.com/agent-inject-template") and isinstance(value, str):
            yield (*meta_path, "annotations", key), value


def check_vault_kv2(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """A Vault agent template that reads the wrong level for its KV version: ``.Data.x`` or
    ``index .Data "x"`` on KV v2 (needs ``.Data.data.x``), ``.Data.data.x`` on a KV v1 mount.

    https://developer.hashicorp.com/vault/docs/agent-and-proxy/agent/template#secret
    """
    settings = ctx.settings
    for path, text in _template_texts(obj, pod):
        for read in secret_reads(text):
            offset = line_offset(text, read.position)
            if is_kv1_path(read.vault_path, settings.kv1_mounts):
                if read.key == "data" and read.nested:
                    yield Hit(
                        path,
                        f"template reads .Data.data.<field> from KV v1 path {read.vault_path!r}; KV v1 keeps "
                        f"the fields at .Data.<field>",
                        hint="write .Data.<field> (or list the mount under lint.vault.kv2Mounts if it is KV v2)",
                        line_offset=offset,
                    )
            elif read.key not in ("data", "metadata") and is_kv2_path(
                read.vault_path, settings.kv1_mounts, settings.kv2_mounts
            ):
                yield Hit(
                    path,
                    f"template reads .Data.{read.key} from KV v2 path {read.vault_path!r}; KV v2 nests the fields: "
                    f".Data.data.{read.key}",
                    hint=f"write .Data.data.{read.key} (or list the mount under lint.vault.kv1Mounts if it is KV v1)",
                    line_offset=offset,
                )


def check_vault_injector(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """Pod annotations under ``vault.hashicorp.com/`` the Vault Agent Injector does not read,
    that name no secret, or whose key is over 63 characters (the API server refuses them).

    https://developer.hashicorp.com/vault/docs/platform/k8s/injector/annotations
    """
    if pod is None:
        return
    annotations = {str(k): str(v) for k, v in as_map(pod.meta.get("annotations")).items()}
    if not any(k.startswith(INJECT) for k in annotations):
        return
    for problem in check_annotations(annotations):
        key = problem.split("'")[1]
        yield Hit((*pod.meta_path, "annotations", key), problem,
                  hint="see the injector's annotation list; manifestkit's vaultAgent.mode: injector writes valid ones")


def check_unresolved_refs(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """A secret reference (``ref+vault://``, ``<path:...>``) left in an object."""
    if _is_pattern_source(obj) or not _may_hold_reference(obj):
        return
    for path, text in strings(dict(obj)):
        match = REFERENCE.search(text)
        if match:
            yield Hit(path, f"unresolved secret reference {match.group(0)!r}",
                      hint="render it with manifestkit (secret output secret, sops, vault-agent or external-secret)",
                      line_offset=line_offset(text, match.start()))


def _may_hold_reference(obj: Mapping[str, Any]) -> bool:
    """Whether a string of ``obj`` holds what every :data:`REFERENCE` starts with (one cheap walk
    tells the objects without references, nearly all of them, from the rest)."""
    stack: list[Any] = [obj.values()]
    while stack:
        for item in stack.pop():
            kind = type(item)   # the exact types first: they are nearly all the values, and cheaper to tell
            if kind is str or (kind is not dict and kind is not list and isinstance(item, str)):
                if "ref+" in item or "<path:" in item:
                    return True
            elif kind is dict or isinstance(item, dict):
                stack.append(item.values())
            elif kind is list or isinstance(item, list):
                stack.append(item)
    return False


def _is_pattern_source(obj: Mapping[str, Any]) -> bool:
    """manifestkit's own App/Overlay files hold references on purpose."""
    return str(obj.get("apiVersion", "")).startswith("manifestkit.dev/")

