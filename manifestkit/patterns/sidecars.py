"""Sidecar patterns: helpers that run beside the app for the pod's whole life.

- `sidecar/log-tailer` (seed 002): the app writes its log file to a shared emptyDir, the
  tailer mounts it read-only and streams the file to stdout (`kubectl logs POD log-tailer`).
- `sidecar/envoy` (seed 004): an Envoy proxy; inbound listener in front of the app port,
  admin on 127.0.0.1; its bootstrap config is a generated ConfigMap.
- `sidecar/config-reloader`: watches a ConfigMap volume and calls the app's reload URL.
- `sidecar/redis-cache`: a local Redis, bound to 127.0.0.1, as an LRU cache.
"""

from __future__ import annotations

from manifestkit.patterns.helpers import app_container, config_map, first_port, mount, no_escalation, pod_volume
from manifestkit.patterns.model import Obj, PatternError, PatternInput, PatternOutput
from manifestkit.templating import render_builtin

ENVOY_CONFIG_DIR = "/etc/envoy"


def log_tailer(inp: PatternInput) -> PatternOutput:
    p = inp.params
    app = app_container(inp)
    folder = p["path"].rstrip("/") or "/"
    tailer: Obj = {
        "name": "log-tailer",
        "image": p["image"],
        # -F follows the file across rotation; +1 starts at the first line.
        "command": ["tail", "-n", "+1", "-F", f"{folder.rstrip('/')}/{p['file']}"],
        "volumeMounts": [mount(p["volume"], folder, True)],
        "securityContext": no_escalation(),
    }
    return PatternOutput(containers=(tailer,), volumes=({"name": p["volume"], "emptyDir": {}},),
                         mounts={app["name"]: (mount(p["volume"], folder),)})


def envoy(inp: PatternInput) -> PatternOutput:
    p = inp.params
    upstream = p.get("upstreamPort", first_port(app_container(inp)))
    if upstream is None:
        raise PatternError(
            f"container {app_container(inp)['name']!r} declares no port, so Envoy has nowhere to route inbound traffic",
            ("upstreamPort",),
            hint="pass the port the app listens on: with: {upstreamPort: 5678} (inject: -p "
                 "sidecar/envoy=upstreamPort=5678)",
        )
    config = render_builtin("patterns/envoy.yaml.j2", {"port": p["port"], "admin_port": p["adminPort"],
                                                        "upstream_port": upstream, "name": inp.name})
    cm = config_map(inp, "envoy", {"envoy.yaml": config})
    # The admin port listens on 127.0.0.1 only: declaring it would offer the Service a port it cannot reach.
    ports: list[Obj] = [{"name": "envoy-inbound", "containerPort": p["port"]}]
    container: Obj = {
        "name": "envoy",
        "image": p["image"],
        "args": ["-c", f"{ENVOY_CONFIG_DIR}/envoy.yaml", "--log-level", p["logLevel"]],
        "ports": ports,
        "volumeMounts": [mount("envoy-config", ENVOY_CONFIG_DIR, True)],
        "securityContext": no_escalation(),
    }
    volume: Obj = {"name": "envoy-config", "configMap": {"name": cm["metadata"]["name"]}}
    return PatternOutput(containers=(container,), volumes=(volume,), objects=(cm,))


def config_reloader(inp: PatternInput) -> PatternOutput:
    p = inp.params
    volume = pod_volume(inp, p["volume"], "volume")
    if "configMap" not in volume and "secret" not in volume and "projected" not in volume:
        raise PatternError(f"volume {p['volume']!r} is not a configMap, secret or projected volume", ("volume",))
    folder = f"/etc/config-reloader/{p['volume']}"
    container: Obj = {
        "name": "config-reloader",
        "image": p["image"],
        "args": [f"--volume-dir={folder}", f"--webhook-url={p['webhookUrl']}"],
        "volumeMounts": [mount(p["volume"], folder, True)],
        "securityContext": no_escalation(),
    }
    return PatternOutput(containers=(container,))


def redis_cache(inp: PatternInput) -> PatternOutput:
    p = inp.params
    args = ["--bind", "127.0.0.1", "--port", str(p["port"]), "--maxmemory", str(p["maxMemory"]),
            "--maxmemory-policy", "allkeys-lru", "--save", ""]
    container: Obj = {
        "name": "redis-cache",
        "image": p["image"],
        "args": args,
        "ports": [{"name": "redis-cache", "containerPort": p["port"]}],
        "securityContext": no_escalation(),
    }
    return PatternOutput(containers=(container,))
