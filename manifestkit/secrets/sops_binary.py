"""sops decryption handed to a ``sops`` binary on PATH (``spec.secrets.sops.useBinary: true``), for key sources we do not read natively."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from manifestkit.secrets.sops_keys import SopsKeys
from manifestkit.secrets.sops_tree import Loaded, SopsDocument, fail_at
from manifestkit.secrets.sops_values import plain_value, text_of


def decrypt_with_sops(loaded: Loaded, data: bytes, fmt: str, keys: SopsKeys, name: str) -> SopsDocument:
    if shutil.which("sops") is None:
        raise fail_at("found no `sops` binary on PATH; expected one, as spec.secrets.sops.useBinary is true", name,
                      hint="install sops (https://github.com/getsops/sops), or set `spec.secrets.sops.useBinary: false` "
                           "to decrypt natively")
    # The child needs PATH and HOME like any process; only the key settings are ours to add.
    env = dict(os.environ)
    if keys.age_identities:
        env["SOPS_AGE_KEY"] = "\n".join(str.__str__(i) for i in keys.age_identities)
    if keys.gnupghome:
        env["GNUPGHOME"] = keys.gnupghome
    out_type = "binary" if fmt == "binary" else "json"
    proc = subprocess.run(["sops", "--decrypt", "--input-type", fmt, "--output-type", out_type, "/dev/stdin"],
                          input=data, capture_output=True, env=env, check=False, timeout=120)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        raise fail_at(f"sops failed: {lines[-1][:200] if lines else proc.returncode}", name)
    try:
        tree = {"data": text_of(proc.stdout)} if fmt == "binary" else json.loads(proc.stdout)
    except ValueError:
        raise fail_at("sops printed something that is not JSON", name) from None
    # Without the data key the MAC stays sealed; its sealed form changes exactly when the MAC does.
    return SopsDocument(_wrap_strings(tree), str(loaded.metadata.get("mac", "")),
                        str(loaded.metadata.get("lastmodified", "")), name)


def _wrap_strings(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _wrap_strings(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_wrap_strings(v) for v in node]
    return plain_value(node)

