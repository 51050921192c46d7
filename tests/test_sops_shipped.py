"""sops files written by the real sops (tests/data/sops, TEST keys): values equal `sops -d`, at the Secret too; key
errors at the App line, once."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from manifestkit.cli import main
from manifestkit.diagnostics import ManifestkitError
from manifestkit.secrets.sops import SopsKeys, decrypt_bytes, keys_from_env, lookup, printed
from manifestkit.secrets.sops_datakey import KEY_WAYS
from manifestkit.secrets.sops_formats import EXTENSIONS

from ._fixtures import decoded, write_files

DATA = Path(__file__).resolve().parent / "data" / "sops"
AGE_KEY = DATA / "age-test-key.txt"
EXPECTED: dict[str, dict[str, str]] = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))
SHIPPED = [*EXPECTED, "secrets-3.13.enc.ini"]


@pytest.fixture(scope="module")
def keys() -> Iterator[SopsKeys]:
    """The TEST age key and a throw-away GNUPGHOME holding the TEST PGP key."""
    if shutil.which("gpg") is None:
        pytest.skip("gpg is needed for the PGP files")
    home = tempfile.mkdtemp(prefix="g", dir="/tmp")
    try:
        subprocess.run(["gpg", "--homedir", home, "--batch", "--import", str(DATA / "pgp-test-key.asc")],
                       check=True, capture_output=True)
        yield keys_from_env({"SOPS_AGE_KEY_FILE": str(AGE_KEY), "GNUPGHOME": home, "HOME": "/nonexistent"})
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def fmt_of(name: str) -> str:
    return EXTENSIONS[Path(name).suffix]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_value_equals_what_sops_d_printed(name: str, keys: SopsKeys) -> None:
    doc = decrypt_bytes((DATA / name).read_bytes(), fmt_of(name), keys, name)
    expected = EXPECTED["secrets.enc.ini" if name == "secrets-3.13.enc.ini" else name]
    got = {}
    for path, text in expected.items():
        value = lookup(doc, path.split("/"))
        got[path] = str.__str__(printed(value, doc.fmt)) + ("\n" if text.endswith("\n") and not isinstance(value, str)
                                                            else "")
    assert got == expected


@pytest.mark.parametrize("name", ["types.enc.yaml", "types.enc.json", "secrets.enc.env", "regex.enc.yaml"])
@pytest.mark.parametrize("where", ["value", "mac"])
def test_tampered_copies_are_refused(name: str, where: str, keys: SopsKeys) -> None:
    text = (DATA / name).read_text(encoding="utf-8")
    pattern = (
        r"mac\W+ENC\[AES256_GCM,data:"
        if where == "mac"
        else r"(?<!#)(?<!mac: )(?<!mac\": \")(?<!mac=)ENC\[AES256_GCM,data:"
    )
    match = re.search(pattern, text)
    assert match is not None
    at = match.end()
    changed = text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1:]
    with pytest.raises(ManifestkitError) as info:
        decrypt_bytes(changed.encode(), fmt_of(name), keys, name)
    assert "s3cret" not in str(info.value)


# ---------------------------------------------------------------- through render: the App's Secret


APP = """\
apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: api, namespace: shop}
spec:
  containers:
    - name: api
      image: ghcr.io/example/api:1.0.0
      env:
        PORT: ref+sops://types.enc.json#/port
  secrets:
    nums:
      stringData:
%s
"""
PROJECT = """\
apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: nums}
spec:
  apps: [apps/*.yaml]
  output: {format: plain, dir: build}
  secrets:
    output: secret
    sops: {ageKeyFile: %s}
"""
REFS = {"json_port": "types.enc.json#/port", "json_big": "types.enc.json#/big", "json_e": "types.enc.json#/e",
        "json_whole": "types.enc.json#/whole", "json_small": "types.enc.json#/small", "yaml_e": "types.enc.yaml#/e",
        "yaml_whole": "types.enc.yaml#/whole", "yaml_port": "types.enc.yaml#/port", "yaml_t": "types.enc.yaml#/t",
        "yaml_ver": "types.enc.yaml#/ver", "yaml_huge": "types.enc.yaml#/huge"}


def _project(root: Path, key_file: str) -> Path:
    lines = "\n".join(f"        {k}: ref+sops://{v}" for k, v in REFS.items())
    write_files(root, {"manifestkit.yaml": PROJECT % key_file, "apps/api.yaml": APP % lines})
    for name in ("types.enc.json", "types.enc.yaml"):
        shutil.copy(DATA / name, root / name)
    return root


def _secrets(out: str) -> dict[str, dict[str, str]]:
    docs = [d for d in YAML(typ="safe").load_all(out) if d and d.get("kind") == "Secret"]
    return {d["metadata"]["name"]: decoded(d) for d in docs}


@pytest.fixture
def no_key_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY", "GNUPGHOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.mark.usefixtures("no_key_env")
def test_secret_values_are_what_sops_d_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path / "p", str(AGE_KEY))
    assert main(["render", str(root), "-o", "-"]) == 0
    secrets = _secrets(capsys.readouterr().out)
    assert secrets["nums"] == {
        "json_port": "5432", "json_big": "1234568000", "json_e": "100000000000000000000", "json_whole": "5432",
        "json_small": "1e-7", "yaml_e": "1e+20", "yaml_whole": "5432", "yaml_port": "5432", "yaml_t": "true",
        "yaml_ver": "1.10", "yaml_huge": "1.2345678901234568e+29"}
    assert secrets["api-env"] == {"PORT": "5432"}
    for key, ref in REFS.items():   # the same text expected.json recorded from `sops -d --extract`
        file, _, path = ref.partition("#/")
        assert secrets["nums"][key] == EXPECTED[file][path].removesuffix("\n")


@pytest.mark.usefixtures("no_key_env")
def test_no_key_is_one_error_at_the_app_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "p", "missing-key.txt")
    monkeypatch.chdir(root)
    assert main(["render", ".", "-o", "-"]) == 2
    recipient = "age1" + (DATA / "types.enc.json").read_text().split('"recipient": "age1')[1].split('"')[0]
    assert capsys.readouterr().err == (
        "apps/api.yaml:11: error: ref+sops://types.enc.json#/big: 'types.enc.json': cannot decrypt the data key: "
        f"no usable key for the file's recipients (age: {recipient})\n"
        f"  hint: age identities looked for in: ageKeyFile {root / 'missing-key.txt'} (not found); PGP secret keys "
        f"in GNUPGHOME=gpg's default (~/.gnupg); {KEY_WAYS}\n")
    assert "SOPS_AGE_KEY_FILE" in KEY_WAYS and "spec.secrets.sops.ageKeyFile" in KEY_WAYS and "GNUPGHOME" in KEY_WAYS


@pytest.mark.usefixtures("no_key_env")
def test_a_missing_key_in_the_file_is_reported_at_the_app_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "p", str(AGE_KEY))
    app = root / "apps" / "api.yaml"
    app.write_text(app.read_text().replace("types.enc.json#/port\n", "types.enc.json#/prot\n", 1))
    monkeypatch.chdir(root)
    assert main(["render", ".", "-o", "-"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("apps/api.yaml:3: error: ref+sops://types.enc.json#/prot: 'types.enc.json': key 'prot' "
                          "not found: no 'prot' at the top level; keys at the top level: big, big_e, ")
    assert err.endswith("\n  hint: did you mean 'port'?\n")
    assert str(tmp_path) not in err


def test_shipped_files_are_marked_as_test_keys() -> None:
    assert AGE_KEY.read_text().splitlines()[0].startswith("# TEST key")
    assert "TEST" in subprocess.run(["gpg", "--show-keys", str(DATA / "pgp-test-key.asc")], capture_output=True,
                                    text=True, check=False).stdout or shutil.which("gpg") is None
    assert "TEST keys" in (DATA / "README.md").read_text()
