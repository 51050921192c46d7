"""Native SOPS: real files written by the sops tool, tampering, round trips, key lookup."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyrage
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from manifestkit.diagnostics import ManifestkitError
from manifestkit.redact import SecretStr
from manifestkit.secrets.sops import (
    SopsDocument,
    SopsKeys,
    decrypt_bytes,
    decrypt_file,
    encrypt_tree,
    keys_from_env,
    lookup,
    printed,
    to_yaml,
)
from manifestkit.secrets.sops_datakey import KEY_WAYS
from manifestkit.secrets.sops_values import seal_value

CORPUS = Path(__file__).resolve().parent / "corpora" / "sops"
FILES = CORPUS / "files"
KEYS = CORPUS / "keys"
AGE_KEY_FILE = KEYS / "age-helm-secrets.txt"
AGE_RECIPIENT = "age1rh2xsjg8avja92j3jhtttuczgmqkz89lezxt4e3mmp5ukl5j4f9smvteju"
PGP_FP = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"
CORPUS_FILES = ["hs-file.pgp.enc.json", "hs-secrets.age.enc.yaml", "hs-secrets.pgp.enc.yaml",
                "hs-some-secrets.pgp.enc.yaml", "sops-example.enc.yaml", "sops-format.enc.yaml"]
# Known plaintext from hs-secrets.pgp.dec.yaml; it must never show up in a message.
KNOWN_SECRET = "global_bar"

needs_gpg = pytest.mark.skipif(shutil.which("gpg") is None or shutil.which("gpgconf") is None,
                               reason="gpg and gpgconf are needed for the PGP tests")


@pytest.fixture(scope="session")
def gnupghome() -> Iterator[str]:
    """A throw-away GNUPGHOME with the corpus' PGP test keys; short path for gpg-agent's socket."""
    if not FILES.is_dir() or shutil.which("gpg") is None:
        pytest.skip("sops corpus or gpg not available")
    home = tempfile.mkdtemp(prefix="g", dir="/tmp")
    try:
        for key in ("sops_functional_tests_key.asc", "helm-secrets-private.gpg"):
            subprocess.run(["gpg", "--homedir", home, "--batch", "--import", str(KEYS / key)],
                           check=True, capture_output=True)
        yield home
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def corpus_keys(gnupghome: str) -> SopsKeys:
    return keys_from_env({"SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE), "GNUPGHOME": gnupghome, "HOME": "/nonexistent"})


@pytest.fixture(scope="module")
def identity() -> Any:
    return pyrage.x25519.Identity.generate()


def age_keys(identity: Any) -> SopsKeys:
    return SopsKeys(age_identities=(str(identity),))


def corpus_age_keys() -> SopsKeys:
    return keys_from_env({"SOPS_AGE_KEY_FILE": str(AGE_KEY_FILE), "HOME": "/nonexistent"})


def leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [leaf for v in node.values() for leaf in leaves(v)]
    if isinstance(node, list):
        return [leaf for v in node for leaf in leaves(v)]
    return [node]


def typed(node: Any) -> Any:
    """The tree with each leaf as (type name, value), so True never equals 1."""
    if isinstance(node, dict):
        return {k: typed(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [typed(v) for v in node]
    kind = "str" if isinstance(node, str) else type(node).__name__
    return (kind, str(node) if isinstance(node, str) else node)


def refused(data: bytes, fmt: str, keys: SopsKeys, name: str) -> str:
    with pytest.raises(ManifestkitError) as info:
        decrypt_bytes(data, fmt, keys, name)
    return str(info.value)


def mismatch(name: str) -> str:
    return (f"{name}: error: MAC mismatch: the file was modified after encryption or is corrupt\n"
            "  hint: restore the file from version control, or re-encrypt it with sops from a trusted copy")


def auth_failed(name: str, path: str) -> str:
    return (f"{name}: error: {path}: cannot decrypt the value: authentication failed\n"
            "  hint: the file was modified after encryption or is corrupt, or the value was moved from another key; "
            "restore the file from version control, or re-encrypt it with sops from a trusted copy")


# ---------------------------------------------------------------- the corpus


def test_corpus_lists_every_encrypted_file() -> None:
    assert sorted(p.name for p in FILES.glob("*.enc.*")) == CORPUS_FILES


@needs_gpg
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_file_decrypts_and_mac_verifies(name: str, corpus_keys: SopsKeys) -> None:
    doc = decrypt_file(FILES / name, corpus_keys)
    assert re.fullmatch(r"[0-9A-F]{128}", doc.mac)
    assert doc.path == str(FILES / name)
    assert all(isinstance(v, SecretStr) for v in leaves(doc.tree) if isinstance(v, str))
    assert KNOWN_SECRET not in repr(doc)


@needs_gpg
@pytest.mark.parametrize("name", ["hs-secrets.pgp", "hs-some-secrets.pgp"])
def test_corpus_values_equal_the_decrypted_twin(name: str, corpus_keys: SopsKeys) -> None:
    expected = YAML(typ="safe", pure=True).load((FILES / f"{name}.dec.yaml").read_text())
    assert typed(decrypt_file(FILES / f"{name}.enc.yaml", corpus_keys).tree) == typed(expected)


@needs_gpg
def test_sops_example_types_and_clear_text(corpus_keys: SopsKeys) -> None:
    doc = decrypt_file(FILES / "sops-example.enc.yaml", corpus_keys)
    assert isinstance(doc.tree["number"], float)
    assert [type(b) for b in doc.tree["somebooleans"]] == [bool, bool]
    assert lookup(doc, ["nested_unencrypted", "this", "is", "all"]) == "going to remain in clear text"
    assert lookup(doc, ["somelist_unencrypted", "2"]) == "because of the _unencrypted suffix in the key"
    assert list(doc.tree) == ["myapp1", "app2", "number", "an_array", "somebooleans", "this",
                              "somelist_unencrypted", "nested_unencrypted"]


# ---------------------------------------------------------------- tampering


def _change_first_data_char(text: str, key: str) -> str:
    match = re.search(rf"^(\s*-?\s*{key}: ENC\[AES256_GCM,data:)(.)", text, re.M)
    assert match is not None
    other = "A" if match.group(2) != "A" else "B"
    return text[:match.end(1)] + other + text[match.end(2):]


def test_one_changed_ciphertext_byte_is_refused() -> None:
    text = (FILES / "hs-secrets.age.enc.yaml").read_text()
    tampered = _change_first_data_char(text, "global_secret").encode()
    assert refused(tampered, "yaml", corpus_age_keys(), "t.yaml") == auth_failed("t.yaml", "global_secret")


def test_values_swapped_between_keys_are_refused() -> None:
    text = (FILES / "hs-secrets.age.enc.yaml").read_text()
    first = re.search(r"^global_secret: (.*)$", text, re.M)
    second = re.search(r"^key: (.*)$", text, re.M)
    assert first and second
    swapped = text.replace(first.group(1), "@1").replace(second.group(1), first.group(1)).replace("@1", second.group(1))
    assert refused(swapped.encode(), "yaml", corpus_age_keys(), "t.yaml") == auth_failed("t.yaml", "global_secret")


@needs_gpg
def test_list_items_swapped_are_refused_by_the_mac(corpus_keys: SopsKeys) -> None:
    # Items of one list share their key path, so only the MAC sees the new order.
    text = (FILES / "sops-example.enc.yaml").read_text()
    items = re.findall(r"^    - (ENC\[.*type:str\])$", text, re.M)
    swapped = text.replace(items[0], "@0").replace(items[1], items[0]).replace("@0", items[1])
    assert refused(swapped.encode(), "yaml", corpus_keys, "t.yaml") == mismatch("t.yaml")


@pytest.mark.parametrize("edit", [
    pytest.param(lambda t: re.sub(r"(mac: ENC\[AES256_GCM,data:)X", r"\1Y", t), id="mac-changed"),
    pytest.param(lambda t: t.replace('lastmodified: "2021-11-05T00:56:57Z"', 'lastmodified: "2021-11-05T00:56:58Z"'),
                 id="lastmodified-changed"),
    pytest.param(lambda t: t.replace("service:\n    port: ENC", "service:\n    extra_unencrypted: 1\n    port: ENC"),
                 id="clear-value-added"),
])
def test_metadata_and_clear_text_edits_are_refused(edit: Any) -> None:
    text = (FILES / "hs-secrets.age.enc.yaml").read_text()
    tampered = edit(text)
    assert tampered != text
    assert refused(tampered.encode(), "yaml", corpus_age_keys(), "t.yaml") == mismatch("t.yaml")


@needs_gpg
def test_changed_unencrypted_value_is_refused(corpus_keys: SopsKeys) -> None:
    text = (FILES / "sops-example.enc.yaml").read_text()
    tampered = text.replace("remain in clear text", "remain in plain text")
    assert refused(tampered.encode(), "yaml", corpus_keys, "t.yaml") == mismatch("t.yaml")


@needs_gpg
def test_renamed_unencrypted_key_is_not_detected_as_sops_does(corpus_keys: SopsKeys) -> None:
    # sops MACs values, not keys: a key holding no encrypted value can be renamed unnoticed.
    text = (FILES / "sops-example.enc.yaml").read_text().replace("nested_unencrypted:", "renamed_unencrypted:")
    doc = decrypt_bytes(text.encode(), "yaml", corpus_keys, "t.yaml")
    assert "renamed_unencrypted" in doc.tree


def test_malformed_enc_value_is_refused() -> None:
    text = (FILES / "hs-secrets.age.enc.yaml").read_text().replace("type:int]", "type:wat]")
    assert refused(text.encode(), "yaml", corpus_age_keys(), "t.yaml") == (
        "t.yaml: error: service.port: malformed encrypted value: unknown type 'wat'; "
        "expected one of: bool, bytes, comment, float, int, int64, str\n"
        "  hint: restore the file from version control, or re-encrypt it with sops from a trusted copy")


def test_plain_value_where_encryption_is_expected_is_refused_without_echoing_it() -> None:
    text = (FILES / "hs-secrets.age.enc.yaml").read_text()
    text = re.sub(r"^global_secret: .*$", f"global_secret: {KNOWN_SECRET}", text, flags=re.M)
    message = refused(text.encode(), "yaml", corpus_age_keys(), "t.yaml")
    assert message.startswith("t.yaml: error: global_secret: malformed encrypted value: expected ENC[AES256_GCM,")
    assert KNOWN_SECRET not in message


# ---------------------------------------------------------------- keys and errors


def test_no_usable_key_names_recipients_and_where_it_looked(tmp_path: Path) -> None:
    keys = keys_from_env({"HOME": str(tmp_path)})
    message = refused((FILES / "hs-secrets.age.enc.yaml").read_bytes(), "yaml", keys, "s.yaml")
    assert message == (
        f"s.yaml: error: cannot decrypt the data key: no usable key for the file's recipients (age: {AGE_RECIPIENT})\n"
        f"  hint: age identities looked for in: sops default {tmp_path}/.config/sops/age/keys.txt (not found); "
        f"PGP secret keys in GNUPGHOME=gpg's default (~/.gnupg); {KEY_WAYS}")


@needs_gpg
def test_gpg_failure_is_reported(tmp_path: Path) -> None:
    home = tempfile.mkdtemp(prefix="g", dir="/tmp")
    try:
        keys = SopsKeys(gnupghome=home)
        message = refused((FILES / "hs-file.pgp.enc.json").read_bytes(), "json", keys, "f.json")
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
    assert message.startswith("f.json: error: cannot decrypt the data key: no usable key for the file's recipients "
                              "(pgp: D6174A02027050E59C711075B430C4E58E2BBBA3)\n  hint: age identities looked for in: "
                              f"nowhere (none given); PGP secret keys in GNUPGHOME={home}; gpg said: "
                              "D6174A02027050E59C711075B430C4E58E2BBBA3: gpg: decryption failed: No secret key")


def test_unknown_format_lists_the_known_ones() -> None:
    assert refused(b"{}", "yml", SopsKeys(), "x") == (
        "x: error: unknown sops format 'yml'; expected one of: binary, dotenv, ini, json, yaml\n"
        "  hint: did you mean 'yaml'?")


def test_file_without_metadata_is_refused() -> None:
    assert refused(b"a: 1\n", "yaml", SopsKeys(), "p.yaml") == (
        "p.yaml: error: sops metadata not found: the file has no top-level 'sops' map\n"
        "  hint: is this file encrypted with sops?")


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    message = refused(("\n".join(lines) + "\nsops: {}\n").encode(), "yaml", SopsKeys(), "bomb.yaml")
    assert message.startswith("bomb.yaml: error: YAML aliases expand to more than 100,000 nodes")


def test_arbitrary_tags_are_refused() -> None:
    message = refused(b"a: !!python/object:os.system {}\nsops: {}\n", "yaml", SopsKeys(), "tag.yaml")
    assert message == ("tag.yaml:1:4: error: invalid YAML: could not determine a constructor for the tag "
                       "'tag:yaml.org,2002:python/object:os.system'")


@pytest.mark.parametrize(("fmt", "data", "expected"), [
    ("yaml", b"a: 1\na: 2\nsops: {}\n", "m.yaml:2:1: error: invalid YAML: duplicate mapping key"),
    ("yaml", b"- 1\n", "m.yaml: error: expected a mapping at the top of the file, found list"),
    ("yaml", b"a: 1\n---\nb: 2\n", "m.yaml: error: expected one YAML document, found 2\n"
     "  hint: multi-document sops files are not supported; split the file"),
    ("json", b'{"a": }', "m.json:1:7: error: invalid JSON: Expecting value"),
    ("dotenv", b"A\n", "m.dotenv:1: error: invalid dotenv line: expected KEY=VALUE"),
    ("binary", b'{"x": 1, "sops": {}}', "m.binary: error: a sops binary file holds one 'data' key; found: x"),
    ("json", b'{"sops": {"key_groups": [{}, {}]}}', "m.json: error: the file splits its data key over 2 key groups "
     "(Shamir); not supported natively\n  hint: decrypt it with the sops binary (use_binary=True)"),
])
def test_malformed_files_are_located_errors(fmt: str, data: bytes, expected: str) -> None:
    assert refused(data, fmt, SopsKeys(), f"m.{fmt}") == expected


def test_keys_from_env_reads_inline_file_and_default(tmp_path: Path, identity: Any) -> None:
    other = pyrage.x25519.Identity.generate()
    third = pyrage.x25519.Identity.generate()
    (tmp_path / "k.txt").write_text(f"# created by age-keygen\n# public key: {other.to_public()}\n{other}\n")
    (tmp_path / "xdg" / "sops" / "age").mkdir(parents=True)
    (tmp_path / "xdg" / "sops" / "age" / "keys.txt").write_text(f"{third}\n")
    keys = keys_from_env({"SOPS_AGE_KEY": f"{identity}\n\n{other}", "HOME": str(tmp_path), "GNUPGHOME": "/g"},
                         age_key_file="~/k.txt")
    assert [str(k) for k in keys.age_identities] == [str(identity), str(other), str(other)]
    assert keys.gnupghome == "/g"
    assert keys.sources == ("SOPS_AGE_KEY", f"ageKeyFile {tmp_path}/k.txt")
    assert str(identity) not in repr(keys)
    default = keys_from_env({"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert [str(k) for k in default.age_identities] == [str(third)]


def test_bad_identity_line_is_refused_without_echoing_it(tmp_path: Path) -> None:
    (tmp_path / "k.txt").write_text(f"# ok\nAGE-SECRET-KEY-1{KNOWN_SECRET.upper()}\n")
    with pytest.raises(ManifestkitError) as info:
        keys_from_env({}, age_key_file=str(tmp_path / "k.txt"))
    assert str(info.value) == (f"{tmp_path}/k.txt:2: error: not an age identity (AGE-SECRET-KEY-1...)\n"
                               "  hint: age plugin and SSH identities are not supported")


# ---------------------------------------------------------------- lookup


def test_lookup_walks_maps_and_lists_and_names_siblings() -> None:
    doc = SopsDocument(
        {"api": {"key": SecretStr(KNOWN_SECRET), "user": SecretStr("u")}, "l": [1, 2]}, "M", "t", "w.yaml"
    )
    assert lookup(doc, ["api", "key"]) == KNOWN_SECRET
    assert lookup(doc, ["l", "1"]) == 2
    with pytest.raises(ManifestkitError) as info:
        lookup(doc, ["api", "kye"])
    assert str(info.value) == ("w.yaml: error: key 'api/kye' not found: no 'kye' at api; keys at api: key, user\n"
                               "  hint: did you mean 'key'?")
    with pytest.raises(ManifestkitError) as info:
        lookup(doc, ["l", "5"])
    assert (
        str(info.value) == "w.yaml: error: key 'l/5' not found: no '5' at l; l is a list of 2 items; use an index 0..1"
    )
    with pytest.raises(ManifestkitError) as info:
        lookup(doc, ["api", "key", "deeper"])
    assert str(info.value) == ("w.yaml: error: key 'api/key/deeper' not found: no 'deeper' at api/key; "
                               "api/key is a SecretStr, not a map")
    assert KNOWN_SECRET not in str(info.value)


# ---------------------------------------------------------------- encrypting

TREE: dict[str, Any] = {
    "db": {"password": "hunter2-very-secret", "port": 5432, "ratio": 0.25, "on": True, "empty": ""},
    "list": ["a", 1, 2.5, False, {"x": "y"}],
    "nothing": None,
    "note_unencrypted": "plain",
    "multi": "line one\nline two\n",
}


def test_encrypt_tree_age_round_trip_and_metadata(identity: Any) -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    out = encrypt_tree(TREE, age_recipients=[str(identity.to_public())], now=now)
    meta = out["sops"]
    assert list(meta) == ["age", "lastmodified", "mac", "unencrypted_suffix", "version"]
    assert meta["lastmodified"] == "2024-05-06T07:08:09Z"
    assert meta["age"][0]["recipient"] == str(identity.to_public())
    assert meta["age"][0]["enc"].startswith("-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert re.fullmatch(r"ENC\[AES256_GCM,data:[^,]+,iv:[^,]{44},tag:[^,]{24},type:int\]", out["db"]["port"])
    assert out["db"]["empty"] == "" and out["note_unencrypted"] == "plain" and out["nothing"] is None
    text = to_yaml(out)
    assert "hunter2" not in text
    doc = decrypt_bytes(text.encode(), "yaml", age_keys(identity), "rt.yaml")
    assert typed(doc.tree) == typed(TREE)
    assert doc.lastmodified == "2024-05-06T07:08:09Z"
    assert re.fullmatch(r"[0-9A-F]{128}", doc.mac)
    assert typed(decrypt_bytes(json.dumps(out).encode(), "json", age_keys(identity)).tree) == typed(TREE)


def test_encrypted_regex_for_kubernetes_secrets(identity: Any) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web"}, "stringData": {"key": "s3cr3t"}}
    out = encrypt_tree(secret, age_recipients=[str(identity.to_public())], encrypted_regex="^(data|stringData)$")
    assert out["metadata"] == {"name": "web"} and out["kind"] == "Secret"
    assert out["stringData"]["key"].startswith("ENC[AES256_GCM,")
    assert out["sops"]["encrypted_regex"] == "^(data|stringData)$" and "unencrypted_suffix" not in out["sops"]
    assert typed(decrypt_bytes(to_yaml(out).encode(), "yaml", age_keys(identity)).tree) == typed(secret)


@needs_gpg
def test_encrypt_tree_pgp_round_trip(gnupghome: str) -> None:
    out = encrypt_tree(TREE, pgp_fingerprints=[PGP_FP], gnupghome=gnupghome)
    assert [e["fp"] for e in out["sops"]["pgp"]] == [PGP_FP]
    assert out["sops"]["pgp"][0]["enc"].startswith("-----BEGIN PGP MESSAGE-----")
    doc = decrypt_bytes(to_yaml(out).encode(), "yaml", SopsKeys(gnupghome=gnupghome))
    assert typed(doc.tree) == typed(TREE)


def test_no_secret_or_data_key_in_any_message(identity: Any) -> None:
    out = encrypt_tree(TREE, age_recipients=[str(identity.to_public())])
    data_key = bytes(pyrage.decrypt(out["sops"]["age"][0]["enc"].encode(), [identity]))
    forbidden = ["hunter2-very-secret", data_key.hex(), data_key.hex().upper(), str(identity)]
    text = to_yaml(out)
    edits = [
        text.replace("note_unencrypted: plain", "note_unencrypted: plane"),  # MAC mismatch
        re.sub(
            r"(password: ENC\[AES256_GCM,data:)(.)", lambda m: m.group(1) + ("A" if m.group(2) != "A" else "B"), text
        ),
        text.replace("type:str]", "type:nope]"),
    ]
    messages = [refused(t.encode(), "yaml", age_keys(identity), "n.yaml") for t in edits]
    messages.append(refused(text.encode(), "yaml", SopsKeys(), "n.yaml"))
    doc = decrypt_bytes(text.encode(), "yaml", age_keys(identity))
    messages.append(repr(doc))
    with pytest.raises(ManifestkitError) as info:
        lookup(doc, ["db", "password", "x"])
    messages.append(str(info.value))
    for message in messages:
        assert not [f for f in forbidden if f in message], message


def test_encrypt_tree_needs_a_recipient() -> None:
    with pytest.raises(ManifestkitError) as info:
        encrypt_tree({"a": "b"})
    assert str(info.value) == "<tree>: error: no recipients: give at least one age recipient or PGP fingerprint"


# ---------------------------------------------------------------- other formats (written as sops writes them)


def _flat_metadata(meta: dict[str, Any]) -> dict[str, str]:
    flat = {"lastmodified": meta["lastmodified"], "mac": meta["mac"], "unencrypted_suffix": "_unencrypted",
            "version": meta["version"]}
    for i, stanza in enumerate(meta["age"]):
        flat.update({f"age__list_{i}__map_{k}": v for k, v in stanza.items()})
    return {k: v.replace("\n", "\\n") for k, v in flat.items()}


def test_dotenv_format(identity: Any) -> None:
    out = encrypt_tree({"DB_PASSWORD": "pw", "MODE": "fast"}, age_recipients=[str(identity.to_public())])
    lines = [f"{k}={v}" for k, v in out.items() if k != "sops"] + ["# a comment"]
    lines += [f"sops_{k}={v}" for k, v in sorted(_flat_metadata(out["sops"]).items())]
    doc = decrypt_bytes(("\n".join(lines) + "\n").encode(), "dotenv", age_keys(identity), "x.env")
    assert doc.tree == {"DB_PASSWORD": "pw", "MODE": "fast"}


def test_ini_format(identity: Any) -> None:
    out = encrypt_tree({"db": {"password": "pw", "user": "u"}}, age_recipients=[str(identity.to_public())])
    lines = ["; comment", "[db]"] + [f"{k} = {v}" for k, v in out["db"].items()]
    lines += ["", "[sops]"] + [f"{k} = {v}" for k, v in _flat_metadata(out["sops"]).items()]
    doc = decrypt_bytes("\n".join(lines).encode(), "ini", age_keys(identity), "x.ini")
    assert doc.tree == {"db": {"password": "pw", "user": "u"}}


def test_binary_format_and_extension_detection(identity: Any, tmp_path: Path) -> None:
    out = encrypt_tree({"data": "whole file\nbytes\n"}, age_recipients=[str(identity.to_public())])
    (tmp_path / "blob.bin").write_text(json.dumps(out))
    assert decrypt_file(tmp_path / "blob.bin", age_keys(identity)).tree == {"data": "whole file\nbytes\n"}


def _hand_sealed(identity: Any, rule: dict[str, Any], tree: dict[str, Any], sealed: set[str]) -> dict[str, Any]:
    """A sops document built value by value, for metadata rules encrypt_tree does not write."""
    key = os.urandom(32)
    mac = hashlib.sha512(hashlib.sha256(b"sops").digest() if rule.get("mac_only_encrypted") else b"")
    out: dict[str, Any] = {}
    for name, value in tree.items():
        if name in sealed or not rule.get("mac_only_encrypted"):
            mac.update(str(value).encode())
        out[name] = seal_value(value, key, f"{name}:") if name in sealed else value
    stamp = "2024-01-02T03:04:05Z"
    out["sops"] = {"age": [{"recipient": str(identity.to_public()),
                            "enc": bytes(pyrage.encrypt(key, [identity.to_public()], armored=True)).decode()}],
                   "lastmodified": stamp, "mac": seal_value(mac.hexdigest().upper(), key, stamp), **rule}
    return out


@pytest.mark.parametrize(("rule", "sealed"), [
    ({"encrypted_suffix": "_secret"}, {"pw_secret"}),
    ({"unencrypted_regex": "^name$"}, {"pw_secret", "mode"}),
    ({"encrypted_regex": "^pw", "mac_only_encrypted": True}, {"pw_secret"}),
    ({"unencrypted_comment_regex": "sops:nocrypt"}, {"mode"}),
])
def test_metadata_rules_decide_what_is_sealed(rule: dict[str, Any], sealed: set[str], identity: Any) -> None:
    tree = {"pw_secret": "s3", "name": "web", "mode": "fast"}
    doc = _hand_sealed(identity, rule, tree, sealed)
    assert decrypt_bytes(to_yaml(doc).encode(), "yaml", age_keys(identity)).tree == tree
    clear = next(k for k in tree if k not in sealed)
    edited = to_yaml({**doc, clear: "edited"}).encode()
    if rule.get("mac_only_encrypted"):  # clear values are outside the MAC by request
        assert decrypt_bytes(edited, "yaml", age_keys(identity)).tree[clear] == "edited"
    else:
        assert refused(edited, "yaml", age_keys(identity), "r.yaml") == mismatch("r.yaml")


def test_two_rules_at_once_are_refused(identity: Any) -> None:
    doc = _hand_sealed(
        identity, {"encrypted_suffix": "_secret", "encrypted_regex": "^pw"}, {"pw_secret": "s"}, {"pw_secret"}
    )
    assert refused(to_yaml(doc).encode(), "yaml", age_keys(identity), "r.yaml") == (
        "r.yaml: error: the sops metadata sets encrypted_suffix, encrypted_regex; sops allows only one of them")


def test_use_binary_without_sops_on_path_is_an_error(identity: Any, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))   # a PATH without sops, whatever this machine has
    out = encrypt_tree({"a": "b"}, age_recipients=[str(identity.to_public())])
    keys = age_keys(identity)._replace(use_binary=True)
    assert refused(to_yaml(out).encode(), "yaml", keys, "s.yaml") == (
        "s.yaml: error: found no `sops` binary on PATH; expected one, as spec.secrets.sops.useBinary is true\n"
        "  hint: install sops (https://github.com/getsops/sops), or set `spec.secrets.sops.useBinary: false` "
        "to decrypt natively")


# ---------------------------------------------------------------- property: any tree round-trips

_leaf = (st.text(max_size=20) | st.integers(min_value=-(2**63), max_value=2**63 - 1)
         | st.floats(allow_nan=False) | st.booleans() | st.none())
_key = st.text(min_size=1, max_size=10).filter(lambda k: k != "sops")
_trees = st.dictionaries(_key, st.recursive(_leaf, lambda inner: st.lists(inner, max_size=4)
                                            | st.dictionaries(_key, inner, max_size=4), max_leaves=12), max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=_trees)
def test_random_trees_round_trip(tree: dict[str, Any], identity: Any) -> None:
    out = encrypt_tree(tree, age_recipients=[str(identity.to_public())])
    doc = decrypt_bytes(to_yaml(out).encode(), "yaml", age_keys(identity))
    assert typed(doc.tree) == typed(tree)
    assert all(not isinstance(v, float) or not math.isnan(v) for v in leaves(doc.tree))


# ------------------------------------------------ numbers as sops -d prints them (checked against sops 3.11)


@pytest.mark.parametrize(("value", "yaml_text", "json_text"), [
    (5432, "5432", "5432"), (1234568000, "1234568000", "1234568000"), (5432.0, "5432", "5432"),
    (1e20, "1e+20", "100000000000000000000"), (1e21, "1e+21", "1e+21"), (1e-7, "1e-07", "1e-7"),
    (5432100.0, "5.4321e+06", "5432100"), (123456.0, "123456", "123456"), (0.0001, "0.0001", "0.0001"),
    (-1.5e-10, "-1.5e-10", "-1.5e-10"), (-0.0, "-0", "-0"), (1.7976931348623157e308, "1.7976931348623157e+308",
                                                              "1.7976931348623157e+308"),
    (5e-324, "5e-324", "5e-324"), (12345678.9, "1.23456789e+07", "12345678.9"), (float("inf"), ".inf", "+Inf"),
    (True, "true", "true"), (None, "null", "null"), (SecretStr("1.10"), "1.10", "1.10"),
])
def test_printed_numbers_equal_sops_d(value: Any, yaml_text: str, json_text: str) -> None:
    assert (str.__str__(printed(value, "yaml")), str.__str__(printed(value, "json"))) == (yaml_text, json_text)


def test_printed_maps_are_json_with_sops_numbers() -> None:
    assert str.__str__(printed({"b": [1, 5432.0], "a": {"x": SecretStr("s")}}, "json")) == \
        '{"a": {"x": "s"}, "b": [1, 5432]}'


def test_json_numbers_are_float64_as_in_sops(identity: Any) -> None:
    """sops (Go) reads every JSON number as a float64: a clear-text 2**63 is in the MAC as 9223372036854776000."""
    doc = encrypt_tree(
        {"p": "x", "big": float(2**63)}, age_recipients=[str(identity.to_public())], encrypted_regex="^p$"
    )
    data = json.dumps(doc).replace("9.223372036854776e+18", str(2**63)).encode()
    opened = decrypt_bytes(data, "json", age_keys(identity), "n.json")
    assert str.__str__(printed(opened.tree["big"], opened.fmt)) == "9223372036854776000"


# ------------------------------------------------ INI as sops 3.13 writes it; useBinary does not parse first


def test_ini_triple_quoted_value_spans_lines(identity: Any) -> None:
    out = encrypt_tree({"db": {"pass": "s"}}, age_recipients=[str(identity.to_public())])
    meta = _flat_metadata(out["sops"])
    lines = [f"{k} = {v}" for k, v in meta.items() if k != "age__list_0__map_enc"]
    enc = out["sops"]["age"][0]["enc"]
    ini = f"[db]\npass = {out['db']['pass']}\n\n[sops]\n" + "\n".join(lines) + f'\nage__list_0__map_enc = """{enc}"""\n'
    assert "\n" in enc and decrypt_bytes(ini.encode(), "ini", age_keys(identity), "s.ini").tree == {"db": {"pass": "s"}}
    assert refused(b'[sops]\nmac = """open\nnever closed\n', "ini", age_keys(identity), "u.ini") == (
        'u.ini:2: error: invalid INI value: a """ value is not closed')


def test_use_binary_hands_the_file_to_sops_unparsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "sops"
    fake.write_text('#!/bin/sh\ncat > /dev/null\necho \'{"db": {"pass": "s", "port": 5432}}\'\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ.get('PATH', '')}")
    doc = decrypt_bytes(b"this is = not [ini\n\x00", "ini", SopsKeys(use_binary=True), "x.ini")
    assert (doc.tree, str.__str__(printed(doc.tree["db"]["port"], doc.fmt))) == ({"db": {"pass": "s", "port": 5432.0}},
                                                                                 "5432")
    assert doc.mac.startswith("sha256:")   # no metadata we can read: the file's digest is the version
