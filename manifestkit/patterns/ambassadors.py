"""Ambassador patterns: a proxy in the pod between the app and the network.

- `ambassador/tls-proxy` (seed 002): nginx terminates TLS and proxies to the app on
  127.0.0.1; the Service reaches the pod only through nginx.
- `ambassador/tunnel`: the app talks plain TCP to 127.0.0.1, ghostunnel carries it over
  TLS to a remote host.
"""

from __future__ import annotations

from manifestkit.patterns.helpers import config_map, mount, no_escalation
from manifestkit.patterns.model import Obj, PatternInput, PatternOutput
from manifestkit.templating import render_builtin

NGINX_CONF_DIR = "/etc/nginx/conf.d"
NGINX_CERT_DIR = "/etc/nginx/certs"


def tls_proxy(inp: PatternInput) -> PatternOutput:
    p = inp.params
    conf = render_builtin("patterns/tls-proxy.conf.j2", {"port": p["port"], "upstream_port": p["upstreamPort"],
                                                          "server_name": p.get("serverName", inp.name),
                                                          "cert_dir": NGINX_CERT_DIR})
    cm = config_map(inp, "tls-proxy", {"default.conf": conf})
    container: Obj = {
        "name": "tls-proxy",
        "image": p["image"],
        "ports": [{"name": "https", "containerPort": p["port"]}],
        "readinessProbe": {"tcpSocket": {"port": "https"}},
        "volumeMounts": [
            mount("tls-proxy-config", NGINX_CONF_DIR, True),
            mount("tls-proxy-certs", NGINX_CERT_DIR, True),
        ],
        "securityContext": no_escalation(),
    }
    volumes: tuple[Obj, ...] = (
        {"name": "tls-proxy-config", "configMap": {"name": cm["metadata"]["name"]}},
        {"name": "tls-proxy-certs", "secret": {"secretName": p["certSecret"]}},
    )
    return PatternOutput(containers=(container,), volumes=volumes, objects=(cm,),
                         service_ports=({"name": "https", "port": p["servicePort"] if "servicePort" in p else p["port"],
                                         "targetPort": "https"},),
                         private_ports=(p["upstreamPort"],))


def tunnel(inp: PatternInput) -> PatternOutput:
    p = inp.params
    args = ["client", f"--listen=127.0.0.1:{p['localPort']}", f"--target={p['target']}", "--disable-authentication"]
    container: Obj = {"name": "tunnel", "image": p["image"], "args": args,
                      "ports": [{"name": "tunnel", "containerPort": p["localPort"]}],
                      "securityContext": no_escalation()}
    volumes: tuple[Obj, ...] = ()
    if "caSecret" in p:
        container["args"] = [*args, "--cacert=/etc/tunnel/ca.crt"]
        container["volumeMounts"] = [mount("tunnel-ca", "/etc/tunnel", True)]
        volumes = ({"name": "tunnel-ca", "secret": {"secretName": p["caSecret"]}},)
    return PatternOutput(containers=(container,), volumes=volumes)
