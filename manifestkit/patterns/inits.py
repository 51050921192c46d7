"""Init patterns: containers that run to completion before the app starts.

- `init/sysctl` (seed 002): sets node sysctls from a privileged init container, so the
  app itself never needs privilege (the risk stays small and short-lived).
- `init/fetch`: downloads a file into an emptyDir the app mounts.
- `init/migrate`: runs a migration command with the app's image and environment.
- `init/wait-for`: waits until a host:port accepts TCP connections (may repeat).
"""

from __future__ import annotations

import posixpath
import re

from manifestkit.patterns.helpers import app_container, mount, no_escalation
from manifestkit.patterns.model import Obj, PatternInput, PatternOutput


def sysctl(inp: PatternInput) -> PatternOutput:
    p = inp.params
    settings = [f"{key}={value}" for key, value in p["sysctls"].items()]
    container: Obj = {
        "name": "sysctl",
        "image": p["image"],
        "command": ["sysctl", "-w", *settings],
        # Node sysctls are not namespaced: only a privileged container may set them.
        # https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/
        "securityContext": {"privileged": True, "runAsUser": 0},
    }
    return PatternOutput(init_containers=(container,))


def fetch(inp: PatternInput) -> PatternOutput:
    p = inp.params
    app = app_container(inp)
    folder = p["path"].rstrip("/") or "/"
    file = p.get("file") or posixpath.basename(p["url"].split("?", 1)[0]) or "download"
    container: Obj = {
        "name": "fetch",
        "image": p["image"],
        "command": ["curl", "--fail", "--silent", "--show-error", "--location", "--retry", "5",
                    "--output", posixpath.join(folder, file), p["url"]],
        "volumeMounts": [mount(p["volume"], folder)],
        "securityContext": no_escalation(),
    }
    return PatternOutput(init_containers=(container,), volumes=({"name": p["volume"], "emptyDir": {}},),
                         mounts={app["name"]: (mount(p["volume"], folder, True),)})


def migrate(inp: PatternInput) -> PatternOutput:
    p = inp.params
    app = app_container(inp)
    container: Obj = {"name": "migrate", "image": p.get("image", app.get("image")), "command": list(p["command"])}
    if p.get("args"):
        container["args"] = list(p["args"])
    for key in ("env", "envFrom"):
        if app.get(key):
            container[key] = app[key]
    container["securityContext"] = no_escalation()
    return PatternOutput(init_containers=(container,))


def wait_for(inp: PatternInput) -> PatternOutput:
    p = inp.params
    host, port, timeout = p["host"], p["port"], p["timeout"]
    # Host and port are checked by the schema (hostname characters, integer), so the script is safe.
    script = (
        f"deadline=$(( $(date +%s) + {timeout} )); "
        f"until nc -z -w 2 {host} {port}; do "
        f'if [ $(date +%s) -ge $deadline ]; then echo "{host}:{port} not reachable after {timeout}s"; exit 1; fi; '
        f'echo "waiting for {host}:{port}"; sleep 2; done'
    )
    name = re.sub(r"[^a-z0-9-]", "-", f"wait-for-{host}-{port}")[:63].strip("-")
    container: Obj = {"name": name, "image": p["image"], "command": ["sh", "-c", script],
                      "securityContext": no_escalation()}
    return PatternOutput(init_containers=(container,))
