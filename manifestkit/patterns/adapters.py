"""Adapter patterns: present the app to the outside in a standard shape.

- `adapter/prometheus-exporter` (seed 002): an exporter container, its port added to the
  Service, and the `prometheus.io/scrape|port|path` pod annotations.
"""

from __future__ import annotations

from manifestkit.patterns.helpers import no_escalation
from manifestkit.patterns.model import Obj, PatternInput, PatternOutput


def prometheus_exporter(inp: PatternInput) -> PatternOutput:
    p = inp.params
    container: Obj = {"name": "prometheus-exporter", "image": p["image"]}
    if p.get("args"):
        container["args"] = list(p["args"])
    container["ports"] = [{"name": p["portName"], "containerPort": p["port"]}]
    container["securityContext"] = no_escalation()
    annotations = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(p["port"]),
        "prometheus.io/path": p["path"],
    }
    service_port: Obj = {"name": p["portName"], "port": p["port"], "targetPort": p["portName"]}
    return PatternOutput(containers=(container,), service_ports=(service_port,), annotations=annotations)
