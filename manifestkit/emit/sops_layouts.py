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

Everything here is pure: decrypting needs the caller's :class:`~manifestkit.secrets.sops.SopsKeys`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.model import Project, Resource
from manifestkit.secrets import sops
from manifestkit.writer import OutFile
from manifestkit.yamlio import dump

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


# ------------------------------------------------------------------ helm-secrets

SECRETS_VALUES = "secrets"                      # the .Values key holding every Secret's values
DATA_PLACEHOLDER = "__mk_secret_data__"


def secrets_file_name(version: str) -> str:
    """``secrets.yaml`` for the base render (``version`` empty), else ``secrets-<env>.yaml``."""
    return f"secrets-{version}.yaml" if version else "secrets.yaml"


def open_secret(resource: Resource, keys: sops.SopsKeys) -> dict[str, Any]:
    """The decrypted Secret as plain data (no ``sops`` block); a key that opens it is needed."""
    try:
        doc = sops.decrypt_bytes(sops.to_yaml(resource.obj).encode("utf-8"), "yaml", keys, resource.ref())
    except ManifestkitError as exc:
        first = exc.diagnostics[0]
        raise ManifestkitError([Diagnostic(
            f"helm-secrets layout: cannot open {resource.ref()} to move its values into the secrets "
            f"values file: {first.message}",
            hint="set SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or spec.secrets.sops.ageKeyFile (or gpg's GNUPGHOME) "
                 "to a key of the recipients, or use spec.secrets.sops.layout: flux")]) from None
    # The JSON round trip turns SecretStr into str: these values go only into the sealed values file.
    return dict(json.loads(json.dumps(doc.tree)))


def secret_values(secret: Mapping[str, Any]) -> dict[str, str]:
    """A decrypted Secret's values as text (``data`` base64-decoded, ``stringData`` as is)."""
    name = str(secret.get("metadata", {}).get("name", ""))
    out = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[str(key)] = base64.b64decode(str(value), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ManifestkitError([Diagnostic(
                f"helm-secrets layout: Secret {name!r} key {key!r} is not UTF-8 text, which a values file "
                f"cannot hold for b64enc", hint="use spec.secrets.sops.layout: flux for binary Secrets")]) from None
    out.update({str(k): str(v) for k, v in (secret.get("stringData") or {}).items()})
    return dict(sorted(out.items()))


def secret_skeleton(secret: Mapping[str, Any]) -> dict[str, Any]:
    """The Secret as the chart's template sees it: no values, ``data`` a placeholder that
    :func:`with_data_template` turns into the loop over ``.Values.secrets.<name>``."""
    obj = {k: v for k, v in secret.items() if k not in ("data", "stringData", "sops")}
    return {**obj, "data": DATA_PLACEHOLDER}


def data_template(name: str) -> list[str]:
    """Go-template lines for the Secret's ``data``: each value of ``.Values.secrets.<name>``, base64."""
    values = f'(dig {json.dumps(name)} dict (.Values.{SECRETS_VALUES} | default dict))'
    return [f"{{{{- with {values} }}}}",
            "data:",
            "  {{- range $key, $value := . }}",
            "  {{ $key | quote }}: {{ $value | toString | b64enc | quote }}",
            "  {{- end }}",
            "{{- end }}"]


def with_data_template(text: str, name: str) -> str:
    """Template text with the placeholder line of :func:`secret_skeleton` replaced."""
    lines: list[str] = []
    for line in text.splitlines():
        lines.extend(data_template(name) if line == f"data: {DATA_PLACEHOLDER}" else [line])
    return "\n".join(lines) + "\n"


def sealed_values(values: Mapping[str, Any], settings: Mapping[str, Any], gnupghome: str | None) -> OutFile:
    """A helm-secrets values file: ``values`` encrypted to the ``spec.secrets.sops``
    recipients, every value sealed (sops' default ``unencrypted_suffix`` rule)."""
    config = settings.get("sops") or {}
    sealed = sops.encrypt_tree(values, age_recipients=[str(r) for r in config.get("ageRecipients") or []],
                               pgp_fingerprints=[str(f) for f in config.get("pgpFingerprints") or []],
                               gnupghome=gnupghome)
    return OutFile(sops.to_yaml(sealed).encode("utf-8"), 0o600)


class HelmSecrets(NamedTuple):
    """What the Helm emitter needs for ``helm-secrets``: open a sops Secret, seal a values file."""

    open: Callable[[Resource], dict[str, Any]]
    seal: Callable[[Mapping[str, Any]], OutFile]


def helm_secrets(project: Project, keys: sops.SopsKeys, gnupghome: str | None) -> HelmSecrets:
    settings = project.spec.get("secrets") or {}
    return HelmSecrets(lambda resource: open_secret(resource, keys),
                       lambda values: sealed_values(values, settings, gnupghome))


def split_secret_versions(versions: Sequence[Any], plan: HelmSecrets) -> tuple[list[Any], list[dict[str, str]]] | None:
    """For one chart object known in several versions (a Resource, or anything else where a
    version lacks it): when every present version is a sops Secret, each version as a
    skeleton Resource and its values; otherwise None (the object stays a static template)."""
    present = [v for v in versions if isinstance(v, Resource)]
    if not present or not all(is_sops_secret(v) for v in present):
        return None
    opened = [plan.open(v) if isinstance(v, Resource) else None for v in versions]
    skeletons = [v.replace_obj(secret_skeleton(o)) if isinstance(v, Resource) and o is not None else v
                 for v, o in zip(versions, opened, strict=True)]
    return skeletons, [secret_values(o) if o is not None else {} for o in opened]
