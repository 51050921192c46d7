"""The ``vault/agent`` pattern (seed 000): Vault agent renders files from Vault into the pod.

``mode: sidecar`` (default) adds an init container that logs in, renders every template
once and exits (``exit_after_auth``), and a sidecar that re-renders on change and runs a
command that signals the app (HUP through ``shareProcessNamespace``; SYS_PTRACE only in the
sidecar). Both run as the app's user, write to an emptyDir with ``medium: Memory`` and read
their HCL configuration (generated from templates/vault-agent/) and the templates from a
ConfigMap. ``mode: injector`` emits Vault Agent Injector annotations instead
(https://developer.hashicorp.com/vault/docs/platform/k8s/injector/annotations).

Templates are consul-template text (``{{ with secret "secret/data/web" }}...``);
:func:`template_of` turns text holding vals refs into such a template.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from manifestkit.diagnostics import error
from manifestkit.patterns.apply import Conflicts, apply_output
from manifestkit.patterns.model import Obj, PatternError, PatternInput, PatternOutput
from manifestkit.secrets.modes import SecretJob
from manifestkit.secrets.refs import Ref, find_refs
from manifestkit.templating import render_builtin

DEFAULT_IMAGE = "hashicorp/vault:1.17"
CONFIG_DIR = "/etc/vault/config"
SECRETS_VOLUME = "vault-secrets"
CONFIG_VOLUME = "vault-agent-config"
DEFAULT_MOUNT = "/vault/secrets"
INJECT = "vault.hashicorp.com/"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["role", "templates"],
    "properties": {
        "mode": {"enum": ["sidecar", "injector"]},
        "role": {"type": "string", "minLength": 1},
        "address": {"type": "string"},
        "authPath": {"type": "string"},
        "image": {"type": "string"},
        "container": {"type": "string", "description": "the app container: its user runs the agent, it is signalled"},
        "mountPath": {"type": "string"},
        "mountInto": {"type": "array", "items": {"type": "string"}},
        "runAsUser": {"type": "integer", "minimum": 0},
        "process": {"type": "string", "pattern": "^[^'\\n]+$", "description": "the app's process (as in `ps ax`) to send the signal to"},
        "signal": {"type": "string", "pattern": "^[A-Z0-9]+$"},
        "command": {"type": "string", "description": "run after each re-render instead of signalling"},
        "interval": {"type": "string"},
        "templates": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["file", "template"],
                "properties": {
                    "file": {"type": "string", "minLength": 1},
                    "template": {"type": "string"},
                    "path": {"type": "string"},
                    "volumePath": {"type": "string"},
                },
            },
        },
    },
}


class Template(NamedTuple):
    file: str                 # relative to the secrets mount, e.g. "web-secret/password"
    template: str             # consul-template text
    path: str = ""            # the Vault path it reads (injector's agent-inject-secret-*)
    volume_path: str = ""     # injector only: where the app sees the file


# ------------------------------------------------------------------ refs → consul-template


def secret_action(ref: Ref) -> str:
    """The consul-template expression for one vault ref.

    Nothing is read at render time, so the KV version comes from the spelling: a path whose
    second segment is ``data`` is KV v2 (``.Data.data``), any other KV v1 (``.Data``).
    """
    v2 = ref.path.strip("/").partition("/")[2].startswith("data/")
    path = ref.path.strip("/") + (f"?version={ref.version}" if ref.version else "")
    if not ref.key:
        raise ValueError(f"{ref.raw!r}: a reference for the Vault agent needs a key, e.g. '#/password'")
    keys = " ".join(json.dumps(segment) for segment in ref.key)
    data = ".Data.data" if v2 else ".Data"
    return f"{{{{ with secret {json.dumps(path)} }}}}{{{{ index {data} {keys} }}}}{{{{ end }}}}"


def literal(text: str) -> str:
    """Plain text inside a Go template."""
    return text.replace("{{", "{{ `{{` }}")


def template_of(text: str) -> str:
    """``text`` with every vault ref replaced by its consul-template action."""
    parts: list[str] = []
    pos = 0
    for ref in find_refs(text):
        if ref.scheme != "vault":
            raise ValueError(f"{ref.raw!r}: the Vault agent reads only Vault; found a {ref.scheme} reference")
        parts += [literal(text[pos:ref.start]), secret_action(ref)]
        pos = ref.end
    return "".join([*parts, literal(text[pos:])])


# ------------------------------------------------------------------ HCL


def hcl_string(value: str) -> str:
    """An HCL quoted string: JSON escapes plus ``${``/``%{`` (HCL template sequences) doubled."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def signal_command(process: str, signal: str = "HUP") -> str:
    """A shell command that signals ``process`` (matched in ``ps ax``) without matching itself.

    The first character goes into brackets, so the shell running the command does not
    match its own pattern (seed 000: ``grep 'nginx: maste[r]'``).
    """
    pattern = re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", process)
    bracketed = f"[{pattern[0]}]{pattern[1:]}" if pattern and pattern[0] != "\\" else pattern
    return f"pkill -{signal} -f '{bracketed}'"


def reload_command(params: Mapping[str, Any]) -> str:
    """What the sidecar runs after a re-render: ``command``, else a signal to ``process``, else nothing."""
    if params.get("command"):
        return str(params["command"])
    if params.get("process"):
        return signal_command(str(params["process"]), str(params.get("signal", "HUP")))
    return ""


def _key(index: int) -> str:
    return f"template-{index}.ctmpl"


def agent_configs(params: Mapping[str, Any], templates: Sequence[Template], mount: str) -> dict[str, str]:
    """The ConfigMap data: ``init.hcl``, ``agent.hcl`` and every template."""
    command = reload_command(params)
    context = {
        "role": hcl_string(params["role"]),
        "address": hcl_string(params.get("address") or "https://vault:8200"),
        "auth_path": hcl_string(params.get("authPath") or "auth/kubernetes"),
        "templates": [{"source": hcl_string(f"{CONFIG_DIR}/{_key(i)}"),
                       "destination": hcl_string(f"{mount.rstrip('/')}/{t.file}")}
                      for i, t in enumerate(templates)],
        "command": hcl_string(command) if command else "",
        "interval": hcl_string(params["interval"]) if params.get("interval") else "",
    }
    data = {
        "init.hcl": render_builtin("vault-agent/agent-init.hcl.j2", context).rstrip() + "\n",
        "agent.hcl": render_builtin("vault-agent/agent-sidecar.hcl.j2", context).rstrip() + "\n",
    }
    data.update((_key(i), t.template) for i, t in enumerate(templates))
    return data


# ------------------------------------------------------------------ the pattern


def _templates(params: Mapping[str, Any]) -> list[Template]:
    out = [Template(str(t["file"]), str(t["template"]), str(t.get("path", "")), str(t.get("volumePath", "")))
           for t in params.get("templates") or []]
    if not out:
        raise PatternError("found no templates; expected at least one {file, template}", ("templates",))
    files = [t.file for t in out]
    twice = sorted({f for f in files if files.count(f) > 1})
    if twice:
        raise PatternError(f"template file {twice[0]!r} is given twice; expected each file once", ("templates",))
    return sorted(out, key=lambda t: t.file)


def _app_container(pod: Mapping[str, Any], params: Mapping[str, Any]) -> Mapping[str, Any]:
    containers = (pod.get("spec") or {}).get("containers") or []
    wanted = params.get("container")
    for container in containers:
        if wanted is None or container.get("name") == wanted:
            return dict(container)
    names = ", ".join(str(c.get("name")) for c in containers)
    raise PatternError(f"found no app container {wanted!r}; expected one of: {names}", ("container",))


def app_user(pod: Mapping[str, Any], params: Mapping[str, Any]) -> int:
    """The app's user: ``with.runAsUser``, else the app container's, else the pod's."""
    if params.get("runAsUser") is not None:
        return int(params["runAsUser"])
    container = _app_container(pod, params)
    for context in (container.get("securityContext"), (pod.get("spec") or {}).get("securityContext")):
        if isinstance(context, Mapping) and context.get("runAsUser") is not None:
            return int(context["runAsUser"])
    raise PatternError(
        f"cannot tell which user container {container.get('name')!r} runs as; the Vault agent must run as the "
        f"app's user to share its files",
        ("runAsUser",),
        hint="set securityContext.runAsUser on the container or the pod, or runAsUser in `with:` "
             "(spec.secrets.vaultAgent.runAsUser for secrets output vault-agent)",
    )


def _agent(name: str, config: str, user: int, mount: str, extra_caps: Sequence[str]) -> Obj:
    return {
        "name": name,
        "image": "",
        "args": ["agent", f"-config={CONFIG_DIR}/{config}"],
        "env": [{"name": "SKIP_SETCAP", "value": "true"}],
        "securityContext": {
            "runAsUser": user,
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK", *extra_caps]},
        },
        "volumeMounts": [{"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": True},
                         {"name": SECRETS_VOLUME, "mountPath": mount}],
    }


def vault_agent(inp: PatternInput) -> PatternOutput:
    """Pattern ``vault/agent``: ``mode: sidecar`` (init + re-render sidecar) or ``injector``."""
    params = inp.params
    templates = _templates(params)
    if params.get("mode", "sidecar") == "injector":
        return injector(inp, templates)
    mount = str(params.get("mountPath") or DEFAULT_MOUNT)
    user = app_user(inp.pod, params)
    image = str(params.get("image") or DEFAULT_IMAGE)
    signals = bool(params.get("command") or params.get("process"))
    init = {**_agent("vault-agent-init", "init.hcl", user, mount, ()), "image": image}
    sidecar = {**_agent("vault-agent", "agent.hcl", user, mount, ("SYS_PTRACE",) if signals else ()),
               "image": image}
    config_map = f"{inp.name}-vault-agent"
    app_names = params.get("mountInto")
    if app_names is None:
        app_names = [c["name"] for c in (inp.pod.get("spec") or {}).get("containers") or []]
    mounts = {str(n): ({"name": SECRETS_VOLUME, "mountPath": mount, "readOnly": True},) for n in app_names}
    meta: dict[str, Any] = {"name": config_map}
    if inp.namespace:
        meta["namespace"] = inp.namespace
    return PatternOutput(
        containers=(sidecar,),
        init_containers=(init,),
        volumes=({"name": CONFIG_VOLUME, "configMap": {"name": config_map}},
                 {"name": SECRETS_VOLUME, "emptyDir": {"medium": "Memory"}}),
        mounts=mounts,
        pod_fields={"shareProcessNamespace": True} if signals else {},
        objects=({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                  "data": agent_configs(params, templates, mount)},),
    )


def _annotation_name(file: str) -> str:
    """An annotation suffix for a file: the injector's ``agent-inject-secret-<name>``."""
    return re.sub(r"[^a-z0-9.-]+", "-", file.lower()).strip("-.") or "file"


def injector(inp: PatternInput, templates: Sequence[Template]) -> PatternOutput:
    """Vault Agent Injector annotations: the webhook adds the agents itself."""
    params = inp.params
    annotations = {
        f"{INJECT}agent-inject": "true",
        f"{INJECT}role": str(params["role"]),
        f"{INJECT}agent-run-as-user": str(app_user(inp.pod, params)),
    }
    if params.get("address"):
        annotations[f"{INJECT}service"] = str(params["address"])
    command = reload_command(params)
    if command:
        annotations[f"{INJECT}agent-share-process-namespace"] = "true"
    for t in templates:
        name = _annotation_name(t.file)
        path = t.path or _first_path(t.template)
        annotations[f"{INJECT}agent-inject-secret-{name}"] = path
        annotations[f"{INJECT}agent-inject-template-{name}"] = t.template
        annotations[f"{INJECT}agent-inject-file-{name}"] = t.file.rsplit("/", 1)[-1]
        if t.volume_path or "/" in t.file:
            annotations[f"{INJECT}secret-volume-path-{name}"] = t.volume_path or \
                f"{params.get('mountPath') or DEFAULT_MOUNT}/{t.file.rsplit('/', 1)[0]}"
        if command:
            annotations[f"{INJECT}agent-inject-command-{name}"] = command
    return PatternOutput(annotations=annotations)


def _first_path(template: str) -> str:
    found = re.search(r'with secret "([^"?]+)', template)
    return found.group(1) if found else ""


# ------------------------------------------------------------------ the secrets step's use


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
    for field in ("initContainers", "containers"):
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


def _files(job: SecretJob, items: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """File (inside the Secret's folder) → consul-template text, for the keys the volume shows."""
    texts = {**{k: literal(v) for k, v in job.plain.items()},
             **{k: literal(base64.b64decode(v).decode("utf-8", "replace")) for k, v in job.encoded.items()},
             **{k: template_of(v) for k, v in job.templates.items()}}
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


def _mount_paths(pod: Mapping[str, Any], volume: str) -> list[str]:
    return [m["mountPath"] for c in pod.get("containers") or [] for m in c.get("volumeMounts") or []
            if m.get("name") == volume]


def deliver_in_pod(template: Mapping[str, Any], jobs: Mapping[str, SecretJob], settings: Mapping[str, Any],
                   name: str, namespace: str | None) -> tuple[Obj, tuple[Obj, ...], list[str]]:
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
        paths = _mount_paths(pod, volume)
        for file, text in sorted(_files(jobs[secret], spec["secret"].get("items") or []).items()):
            entry = {"file": f"{secret}/{file}", "template": text}
            if injector and paths:
                entry["volumePath"] = paths[0]
            path = _first_path(text)
            if path:
                entry["path"] = path
            templates.setdefault(entry["file"], entry)
    new_pod: Obj = {**pod, "volumes": [v for v in pod["volumes"] if v["name"] not in volumes]}
    if not new_pod["volumes"]:
        del new_pod["volumes"]
    for field in ("initContainers", "containers"):
        if field in pod:
            new_pod[field] = [_remount(c, volumes, injector) for c in pod[field]]
    new_template: Obj = {**template, "spec": new_pod}
    inp = PatternInput(name, namespace, {**params, "templates": list(templates.values()), "mountInto": []},
                       new_template, None)
    try:
        out = vault_agent(inp)
        merged = apply_output(new_template, None, out, "vault/agent")
    except PatternError as exc:
        raise error(f"vault/agent: {exc.message}", hint=exc.hint) from None
    except Conflicts as exc:
        raise error(f"vault/agent: {'; '.join(exc.messages)}") from None
    return merged.pod, out.objects, sorted(set(volumes.values()))
