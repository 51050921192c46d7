"""Where sops-encrypted Secrets go in Kustomize and Helm output (``spec.secrets.sops.layout``).

- ``flux`` (default): the encrypted Secrets are ordinary resources / static templates;
  Flux's kustomize-controller decrypts them after the build.
- ``ksops``: an overlay does not list its encrypted Secrets under ``resources:``; a KSOPS
  generator (``viaduct.ai/v1`` ``ksops``, an exec KRM function) names them under
  ``files:`` and the kustomization lists it under ``generators:``
  (https://github.com/viaduct-ai/kustomize-sops). The base holds none: each environment's
  Secrets are encrypted for that environment, and a generated Secret cannot replace a
  base's Secret without a ``kustomize.config.k8s.io/behavior`` annotation, which would
  have to be inside the (MAC-covered) encrypted file.
- ``helm-secrets``: the Secret templates read their values from
  ``.Values.secrets.<secret>.<key>`` (``b64enc`` in the template); the values live in
  sops-encrypted ``secrets.yaml`` / ``secrets-<env>.yaml`` beside the chart, which the
  helm-secrets plugin decrypts at install (https://github.com/jkroepke/helm-secrets).
  values.yaml holds no secret value.

The helm-secrets part lives in :mod:`manifestkit.emit.helm_secrets`; opening and sealing sops
data is the render plan's job (:mod:`manifestkit.render_plan`), so everything here is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from manifestkit.model import Project, Resource
from manifestkit.writer import OutFile
from manifestkit.yaml_dump import dump

LAYOUTS = ("flux", "ksops", "helm-secrets")
DEFAULT_LAYOUT = "flux"

# ------------------------------------------------------------------ choosing


def layout_of(project: Project) -> str:
    """``spec.secrets.sops.layout`` (the schema allows only :data:`LAYOUTS`), default ``flux``."""
    config = (project.spec.get("secrets") or {}).get("sops") or {}
    return str(config.get("layout") or DEFAULT_LAYOUT)


def is_sops_secret(resource: Resource) -> bool:
    """A Secret written by the ``sops`` output mode (it carries the top-level ``sops`` block)."""
    return resource.kind == "Secret" and isinstance(resource.obj.get("sops"), Mapping)


# ------------------------------------------------------------------ ksops

KSOPS_API_VERSION = "viaduct.ai/v1"
KSOPS_KIND = "ksops"
KSOPS_FUNCTION = "exec:\n  path: ksops\n"       # ksops on PATH, as the KSOPS README installs it
KSOPS_FILE = "secret-generator.yaml"            # beside the kustomization.yaml that lists it
KSOPS_NAME = "manifestkit-secrets"
KSOPS_DIR = "secrets"                           # the encrypted files, relative to the kustomization


def ksops_generator(files: Sequence[str], name: str = KSOPS_NAME) -> dict[str, Any]:
    """A KSOPS generator that decrypts ``files`` (paths relative to its kustomization)."""
    return {"apiVersion": KSOPS_API_VERSION, "kind": KSOPS_KIND,
            "metadata": {"name": name, "annotations": {"config.kubernetes.io/function": KSOPS_FUNCTION}},
            "files": list(files)}


def ksops_file(files: Sequence[str]) -> OutFile:
    return OutFile(dump(ksops_generator(files)).encode("utf-8"))
