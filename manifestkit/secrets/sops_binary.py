"""sops decryption handed to a ``sops`` binary on PATH (``spec.secrets.sops.useBinary: true``), for key sources we do
not read natively."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from typing import Any

from manifestkit.diagnostics import ManifestkitError
from manifestkit.secrets.sops_formats import LOADERS
from manifestkit.secrets.sops_keys import SopsKeys
from manifestkit.secrets.sops_tree import SopsDocument, fail_at
from manifestkit.secrets.sops_values import plain_value, text_of
from manifestkit.secrets.sops_yaml import load_yaml_data

# sops prints YAML and JSON as they came, so numbers keep their sops -d text; dotenv and INI (strings only) as JSON.
_OUTPUT_TYPES = {"yaml": "yaml", "json": "json", "binary": "binary"}


def decrypt_with_sops(data: bytes, fmt: str, keys: SopsKeys, name: str) -> SopsDocument:
    """The file decrypted by ``sops -d``; the file is not parsed first, so whatever sops reads is read."""
    if shutil.which("sops") is None:
        raise fail_at(
            "found no `sops` binary on PATH; expected one, as spec.secrets.sops.useBinary is true",
            name,
            hint="install sops (https://github.com/getsops/sops), or set `spec.secrets.sops.useBinary: false` "
            "to decrypt natively",
        )
    # The child needs PATH and HOME like any process; only the key settings are ours to add.
    env = dict(os.environ)
    if keys.age_identities:
        env["SOPS_AGE_KEY"] = "\n".join(str.__str__(i) for i in keys.age_identities)
    if keys.gnupghome:
        env["GNUPGHOME"] = keys.gnupghome
    out_type = _OUTPUT_TYPES.get(fmt, "json")
    proc = subprocess.run(["sops", "--disable-version-check", "--decrypt", "--input-type", fmt,
                           "--output-type", out_type, "/dev/stdin"],
                          input=data, capture_output=True, env=env, check=False, timeout=120)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        raise fail_at(f"sops failed: {lines[-1][:200] if lines else proc.returncode}", name)
    meta = _metadata(data, fmt, name)
    # Without the data key the MAC stays sealed; its sealed form changes exactly when the MAC does.
    version = str(meta.get("mac") or "") or "sha256:" + hashlib.sha256(data).hexdigest()
    return SopsDocument(_wrap_strings(_tree(proc.stdout, out_type, name)), version,
                        str(meta.get("lastmodified", "")), name, fmt)


def _tree(out: bytes, out_type: str, name: str) -> Any:
    if out_type == "binary":
        return {"data": text_of(out)}
    if out_type == "yaml":
        return load_yaml_data(text_of(out), name)
    try:
        return json.loads(out, parse_int=float)
    except ValueError:
        raise fail_at("sops printed something that is not JSON", name) from None


def _metadata(data: bytes, fmt: str, name: str) -> dict[str, Any]:
    """The ``sops`` metadata where our loaders read it; a file only sops reads has none (its digest is the version)."""
    try:
        return LOADERS[fmt](data, name).metadata
    except (ManifestkitError, KeyError):
        return {}


def _wrap_strings(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _wrap_strings(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_wrap_strings(v) for v in node]
    return plain_value(node)
