"""A third-party pattern: `sidecar/hello` adds a container that greets on a port."""

from __future__ import annotations

from typing import Any

from manifestkit.patterns.model import PatternInput, PatternOutput


def hello(inp: PatternInput) -> PatternOutput:
    port = inp.params.get("port", 8088)
    container = {"name": "hello", "image": "hashicorp/http-echo:1.0",
                 "args": ["-text", f"hello from {inp.name}", f"-listen=:{port}"],
                 "ports": [{"name": "hello", "containerPort": port}]}
    return PatternOutput(containers=(container,))


hello.schema: dict[str, Any] = {  # type: ignore[attr-defined]
    "type": "object",
    "additionalProperties": False,
    "properties": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}},
}
