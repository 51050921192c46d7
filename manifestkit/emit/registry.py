"""The output formats by `--format` name."""

from __future__ import annotations

from manifestkit.emit import Format
from manifestkit.emit.helm import emit_helm
from manifestkit.emit.kustomize import emit_kustomize
from manifestkit.emit.plain import emit_plain

EMITTERS: dict[str, Format] = {
    "plain": Format(emit=emit_plain),
    "kustomize": Format(emit=emit_kustomize, needs_base=True),
    "helm": Format(emit=emit_helm, needs_base=True, needs_hmac_key=True, opens_sops=True),
}
