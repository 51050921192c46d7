"""The ``vault/agent`` pattern (seed 000): Vault agent renders files from Vault into the pod.

``mode: sidecar`` (default) adds an init container that logs in, renders every template
once and exits (``exit_after_auth``), and a sidecar that re-renders on change and runs a
command that signals the app (HUP through ``shareProcessNamespace``; SYS_PTRACE only in the
sidecar). Both run as the app's user, write to an emptyDir with ``medium: Memory`` and read
their HCL configuration (generated from templates/vault-agent/) and the templates from a
ConfigMap. ``mode: injector`` emits Vault Agent Injector annotations instead
(https://developer.hashicorp.com/vault/docs/platform/k8s/injector/annotations).

Templates are consul-template text (``{{ with secret "secret/data/web" }}...``); the
secrets step turns Secrets holding vault refs into such templates
(:mod:`manifestkit.secrets.go_templates`). ``with:`` is checked against
schemas/patterns/vault-agent.schema.json, like every built-in pattern's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from manifestkit.patterns.model import Obj, PatternError, PatternInput, PatternOutput
from manifestkit.patterns.vault_agent_config import (
    CONFIG_DIR,
    CONFIG_VOLUME,
    DEFAULT_IMAGE,
    DEFAULT_MOUNT,
    INJECT,
    SECRETS_VOLUME,
    Template,
    agent_configs,
    reload_command,
)


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


def _user_id(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise PatternError(f"found runAsUser {value!r}; expected a numeric user id", ("runAsUser",),
                       hint="Kubernetes runs containers by numeric id: write e.g. runAsUser: 101")


def app_user(pod: Mapping[str, Any], params: Mapping[str, Any]) -> int:
    """The app's user: ``with.runAsUser``, else the app container's, else the pod's."""
    if params.get("runAsUser") is not None:
        return _user_id(params["runAsUser"])
    container = _app_container(pod, params)
    for context in (container.get("securityContext"), (pod.get("spec") or {}).get("securityContext")):
        if isinstance(context, Mapping) and context.get("runAsUser") is not None:
            return _user_id(context["runAsUser"])
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
        path = t.path or first_path(t.template)
        annotations[f"{INJECT}agent-inject-secret-{name}"] = path
        annotations[f"{INJECT}agent-inject-template-{name}"] = t.template
        annotations[f"{INJECT}agent-inject-file-{name}"] = t.file.rsplit("/", 1)[-1]
        if t.volume_path or "/" in t.file:
            annotations[f"{INJECT}secret-volume-path-{name}"] = t.volume_path or \
                f"{params.get('mountPath') or DEFAULT_MOUNT}/{t.file.rsplit('/', 1)[0]}"
        if command:
            annotations[f"{INJECT}agent-inject-command-{name}"] = command
    return PatternOutput(annotations=annotations)


def first_path(template: str) -> str:
    found = re.search(r'with secret "([^"?]+)', template)
    return found.group(1) if found else ""

