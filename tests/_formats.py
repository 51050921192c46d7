"""Helpers shared by the Kustomize and Helm output tests: render a project in a format, and
compare objects the way the issue asks (a set keyed by kind/namespace/name, field for field)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from manifestkit.emit.registry import EMITTERS
from manifestkit.loader import load_project
from manifestkit.model import Options, Project
from manifestkit.pipeline import render_env
from manifestkit.render_plan import emit
from manifestkit.writer import write_tree

from ._fixtures import write_files as write_files  # its home is _fixtures; tests import it from here too
from .conftest import EXAMPLES

ObjKey = tuple[str, str, str]
DEFAULT_OPTIONS = Options()

# A project with a `base:` manifest, a pattern and two environments that change both.
BASE_MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, labels: {app: echo}}
spec:
  replicas: 1
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers:
        - name: echo
          image: hashicorp/http-echo:1.0
          args: ["-text=hello", "-listen=:8080"]
          ports: [{name: http, containerPort: 8080}]
          envFrom: [{configMapRef: {name: echo-config}}]
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: http}]
"""
PATTERNED_FILES = {
    "manifestkit.yaml": """
apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: echo}
spec:
  apps: [apps/*.yaml]
  environments:
    dev: {overlays: [overlays/dev.yaml]}
    prod: {overlays: [overlays/prod.yaml]}
""",
    "apps/echo.yaml": """
apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: echo, namespace: echo}
spec:
  base: ../manifests/echo.yaml
  patterns:
    - use: sidecar/envoy
  configMaps:
    echo-config: {data: {GREETING: hi}}
""",
    "manifests/echo.yaml": BASE_MANIFEST,
    "overlays/dev.yaml": """
apiVersion: manifestkit.dev/v1alpha1
kind: Overlay
metadata: {name: dev}
spec:
  namespace: echo-dev
  labels: {env: dev}
  apps:
    echo:
      configMaps: {echo-config: {data: {GREETING: hello-dev}}}
""",
    "overlays/prod.yaml": """
apiVersion: manifestkit.dev/v1alpha1
kind: Overlay
metadata: {name: prod}
spec:
  extends: [builtin:production]
  namespace: echo-prod
  labels: {env: prod}
  images: [{name: hashicorp/http-echo, newTag: "1.0.1"}]
  apps:
    echo: {replicas: 3}
""",
}


def example_projects() -> list[Path]:
    return sorted(p.parent for p in EXAMPLES.glob("*/manifestkit.yaml"))


def env_cases() -> list[tuple[Path, str]]:
    return [(root, env) for root in example_projects() for env in load_project(root).env_names()]


def case_id(case: tuple[Path, str]) -> str:
    return f"{case[0].name}:{case[1]}"


def render_dir(project: Project, fmt: str, out: Path, options: Options = DEFAULT_OPTIONS) -> Path:
    """``project`` written in ``fmt`` to ``out`` (what `manifestkit render -f FMT -o OUT` does)."""
    renders = {env: render_env(project, env if project.environments else None, options) for env in project.env_names()}
    emitted = emit(project, EMITTERS[fmt], renders, options)
    if out.exists():
        shutil.rmtree(out)
    write_tree(out, emitted.files, emitted.scope)
    return out


def plain_objects(project: Project, env: str, options: Options = DEFAULT_OPTIONS) -> dict[ObjKey, Any]:
    """The plain render of ``env`` as a set keyed by kind/namespace/name (YAML round trip)."""
    resources = render_env(project, env if project.environments else None, options)
    return keyed(yaml.safe_load_all(yaml.safe_dump_all([dict(r.obj) for r in resources])))


def keyed(objects: Any) -> dict[ObjKey, Any]:
    out: dict[ObjKey, Any] = {}
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        key = (obj["kind"], obj["metadata"].get("namespace") or "", obj["metadata"]["name"])
        assert key not in out, f"{key} twice"
        out[key] = obj
    return out


RELEASE_NAMESPACE = "mk-release"   # `helm install -n mk-release`; unpinned objects land there


def helm_objects(chart: Path, values: dict[str, Any], namespace: str = RELEASE_NAMESPACE,
                 as_plain: bool = True) -> dict[ObjKey, Any]:
    """The objects real Helm (helm-python-sdk) renders from ``chart`` with ``values`` into the release
    ``namespace``; ``as_plain`` drops that namespace again, as the plain render has none for them."""
    import helm_python  # a test extra

    with helm_python.Chart.load(str(chart)) as loaded:
        rendered = loaded.render(values, name=chart.name, namespace=namespace)
    objs = [obj for name, text in sorted(rendered.items()) if name.endswith((".yaml", ".yml"))
            for obj in yaml.safe_load_all(text)]
    return keyed(_without_release_namespace(obj, namespace) if as_plain else obj for obj in objs)


def _without_release_namespace(obj: Any, namespace: str) -> Any:
    if not isinstance(obj, dict) or (obj.get("metadata") or {}).get("namespace") != namespace:
        return obj
    return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "namespace"}}


def differences(got: dict[ObjKey, Any], want: dict[ObjKey, Any]) -> list[str]:
    """Readable differences, empty when equal."""
    out = [f"missing: {k}" for k in sorted(set(want) - set(got))]
    out += [f"extra: {k}" for k in sorted(set(got) - set(want))]
    out += [
        f"differs: {k}\n  got:  {got[k]}\n  want: {want[k]}" for k in sorted(set(got) & set(want)) if got[k] != want[k]
    ]
    return out
