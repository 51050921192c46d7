"""Inputs and helpers that several test modules share: the manifests `validate` checks, the opening of the `web` App,
CustomResourceDefinitions, and the small jobs of writing a project, decoding a Secret, running the CLI, finding a free
port and stopping a process."""

from __future__ import annotations

import base64
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifestkit.cli import main

# What `manifestkit validate` and its pre-commit hook are given: a clean ConfigMap, and a Pod whose one error is the
# privileged container at line 8, column 25 (MK009); it also lacks probes and more (warnings).
CLEAN_CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: shop}
data: {MODE: fast}
"""
PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
    - name: web
      image: nginx:1.25.4
      securityContext: {privileged: true, runAsNonRoot: true}
      resources: {requests: {cpu: 10m}, limits: {memory: 10Mi}}
"""

# The opening of the `web` App in namespace `shop` up to its container's image: each test adds the container's
# other fields and the App's own (six spaces indent the container's fields).
WEB_APP_HEAD = """\
apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: web, namespace: shop}
spec:
  containers:
    - name: web
      image: nginx:1.25
"""


def crd(*, group: str, kind: str, plural: str, spec: Mapping[str, Any]) -> str:
    """A namespaced CustomResourceDefinition of ``kind`` in ``group``, version v1 (served and stored), whose
    objects' ``spec`` has the schema ``spec``: the YAML text of a CRD file."""
    schema = {"type": "object", "properties": {"spec": dict(spec)}}
    return yaml.safe_dump({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "names": {"kind": kind, "plural": plural}, "scope": "Namespaced",
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}]},
    }, sort_keys=False)


def decoded(secret: Mapping[str, Any]) -> dict[str, str]:
    """A Secret object's ``data``, each value base64-decoded to text."""
    return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}


def write_files(root: Path, files: Mapping[str, str]) -> Path:
    """Each text of ``files`` written at its relative path below ``root`` (folders made as needed); ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`manifestkit ARGV` in this process: its exit code, stdout and stderr."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Terminate ``process`` if it still runs, and kill it when it has not ended after ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
