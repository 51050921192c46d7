"""The emitters by `--format` name."""

from __future__ import annotations

from manifestkit.emit import Emitter
from manifestkit.emit.helm import emit_helm
from manifestkit.emit.kustomize import emit_kustomize
from manifestkit.emit.plain import emit_plain

EMITTERS: dict[str, Emitter] = {
    "plain": emit_plain,
    "kustomize": emit_kustomize,
    "helm": emit_helm,
}
