"""Lint checks on each container: probes that are missing or can never fail, image tags, resource requests."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from typing import Any

from manifestkit.kinds import (
    LIVENESS_PROBE,
    PROBES,
    READINESS_PROBE,
    is_long_running,
)
from manifestkit.lint.base import Hit, LintContext
from manifestkit.lint.podspec import Pod, as_list, as_map


def check_missing_probes(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """A long-running app container without a readiness or liveness probe."""
    if pod is None or not is_long_running(obj.get("kind")):
        return
    if pod.spec.get("restartPolicy") in ("Never", "OnFailure"):
        return    # a Pod that runs once (a Helm test hook): nothing to route to or restart
    for c in pod.containers:
        if c.init:
            continue
        missing = [p for p in (READINESS_PROBE, LIVENESS_PROBE) if not c.c.get(p)]
        if missing:
            yield Hit(
                c.path,
                f"container {c.name!r} has no {' and no '.join(missing)}",
                hint="without a readinessProbe traffic arrives before the app is ready; without a livenessProbe a hung "
                     "app is never restarted",
            )


_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "/bin/sh", "/bin/bash", "/bin/ash", "/usr/bin/env"})
_PS_GREP = re.compile(r"\bps\b[^|;&]*\|\s*grep\b(?P<rest>[^|;&]*)")
_ALWAYS_TRUE = re.compile(
    r"(\|\|\s*(true|:|exit\s+0)\s*$)|(;\s*(true|exit\s+0)\s*$)|^\s*(true|:|/bin/true|exit\s+0|echo\b[^|&;]*)\s*$"
)


def probe_never_fails(command: list[Any]) -> str:
    """Why an exec probe command can never fail, or '' when it can."""
    parts = [str(p) for p in command]
    script = parts[2] if len(parts) >= 3 and parts[0] in _SHELLS and parts[1] == "-c" else shlex.join(parts)
    if len(parts) >= 3 and parts[0] == "/usr/bin/env" and parts[1] in _SHELLS:
        script = parts[-1]
    ps = _PS_GREP.search(script)
    if ps and "grep -v grep" not in script and "[" not in ps.group("rest"):
        return "`ps | grep` always finds at least the grep process itself"
    if _ALWAYS_TRUE.search(script):
        return "the command always exits 0"
    return ""


def check_probe_never_fails(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """An exec probe that succeeds whatever the app does (seed 001: `ps aux | grep`)."""
    for c in pod.containers if pod else ():
        for probe in PROBES:
            if probe not in c.c:
                continue
            command = as_list(as_map(as_map(c.c.get(probe)).get("exec")).get("command"))
            why = probe_never_fails(command) if command else ""
            if why:
                yield Hit(
                    (*c.path, probe, "exec", "command"),
                    f"{probe} of container {c.name!r} can never fail: {why}",
                    hint="check the service itself (httpGet, tcpSocket, grpc) or exit non-zero when it does not answer",
                )


def image_problem(image: str) -> str:
    """What is wrong with an image reference's version, or ''."""
    if "@" in image:
        return ""
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag, so it means 'latest'"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image!r} uses the moving tag 'latest'"
    return ""


def check_image_tag(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """An image without a tag or with `latest`: what runs changes without a change in git."""
    for c in pod.containers if pod else ():
        problem = image_problem(str(c.c.get("image", ""))) if c.c.get("image") else ""
        if problem:
            yield Hit(
                (*c.path, "image"),
                f"container {c.name!r}: {problem}",
                hint="pin a version tag or a digest (image@sha256:...)",
            )


def check_resources(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """A container without resource requests or limits."""
    for c in pod.containers if pod else ():
        resources = as_map(c.c.get("resources"))
        missing = [k for k in ("requests", "limits") if not resources.get(k)]
        if missing:
            yield Hit(
                (*c.path, "resources") if resources else c.path,
                f"container {c.name!r} has no resource {' and no '.join(missing)}",
                hint="requests let the scheduler place the pod; a memory limit keeps one pod from starving its node",
            )
