"""The helm-secrets layout of a chart's sops Secrets: templates that read their values from
``.Values.secrets.<secret>.<key>``, the values that go into the sealed values files.

The templates ``b64enc`` each value; the values live in sops-encrypted ``secrets.yaml`` /
``secrets-<env>.yaml`` beside the chart, which the helm-secrets plugin decrypts at install
(https://github.com/jkroepke/helm-secrets). values.yaml holds no secret value. The render
plan opens the sops Secrets before and seals the values files after the emitter runs.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.emit.sops_layouts import is_sops_secret
from manifestkit.model import Resource
from manifestkit.redact import SecretStr

SECRETS_VALUES = "secrets"                      # the .Values key holding every Secret's values
DATA_PLACEHOLDER = "__mk_secret_data__"


def secrets_file_name(version: str) -> str:
    """``secrets.yaml`` for the base render (``version`` empty), else ``secrets-<env>.yaml``."""
    return f"secrets-{version}.yaml" if version else "secrets.yaml"


def secret_values(secret: Mapping[str, Any]) -> dict[str, str]:
    """A decrypted Secret's values as text (``data`` base64-decoded, ``stringData`` as is), each a
    :class:`~manifestkit.redact.SecretStr` so no repr or test diff shows it."""
    name = str(secret.get("metadata", {}).get("name", ""))
    out = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[str(key)] = SecretStr(base64.b64decode(str(value), validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError):
            raise ManifestkitError([Diagnostic(
                message=f"helm-secrets layout: Secret {name!r} key {key!r} is not UTF-8 text, which a values file "
                f"cannot hold for b64enc", hint="use spec.secrets.sops.layout: flux for binary Secrets")]) from None
    out.update({str(k): SecretStr(v) for k, v in (secret.get("stringData") or {}).items()})
    return dict(sorted(out.items()))


def secret_skeleton(secret: Mapping[str, Any]) -> dict[str, Any]:
    """The Secret as the chart's template sees it: no values, ``data`` a placeholder that
    :func:`with_data_template` turns into the loop over ``.Values.secrets.<name>``."""
    obj = {k: v for k, v in secret.items() if k not in ("data", "stringData", "sops")}
    # The JSON round trip turns the decrypted SecretStr fields (metadata…) into plain str for the template.
    return {**json.loads(json.dumps(obj)), "data": DATA_PLACEHOLDER}


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


def split_secret_versions(versions: Sequence[Any], opened: Sequence[Mapping[str, Any] | None],
                          where: str) -> tuple[list[Any], list[dict[str, str]]] | None:
    """For one chart object known in several versions (a Resource, or anything else where a
    version lacks it) and each version's decrypted Secret (``opened``): when every present
    version is a sops Secret, each version as a skeleton Resource and its values; otherwise
    None (the object stays a static template)."""
    present = [v for v in versions if isinstance(v, Resource)]
    if not present or not all(is_sops_secret(v) for v in present):
        return None
    if any(isinstance(v, Resource) and o is None for v, o in zip(versions, opened, strict=True)):
        raise ManifestkitError([Diagnostic(message=f"helm-secrets layout: {where} was not opened by the render plan")])
    skeletons = [v.replace_obj(secret_skeleton(o)) if isinstance(v, Resource) and o is not None else v
                 for v, o in zip(versions, opened, strict=True)]
    return skeletons, [secret_values(o) if o is not None else {} for o in opened]
