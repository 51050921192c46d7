"""sops reuse across renders and `useBinary`: every case that cannot go the usual way says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from manifestkit.cli import main
from manifestkit.diagnostics import ManifestkitError
from manifestkit.secrets import sops
from manifestkit.secrets.sops_reuse import keep_unchanged_sops, same_sops_content
from manifestkit.writer import OutFile
from tests.test_secret_modes import AGE_KEY, AGE_RECIPIENT, _sops_project

SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}}


def sealed() -> bytes:
    return sops.to_yaml(sops.encrypt_tree(SECRET, age_recipients=[AGE_RECIPIENT])).encode()


def test_same_content_is_recognised_with_a_key() -> None:
    keys = sops.keys_from_env({}, str(AGE_KEY))
    assert same_sops_content(sealed(), sealed(), keys) is True


def test_without_a_key_the_comparison_raises() -> None:
    with pytest.raises(ManifestkitError) as caught:
        same_sops_content(sealed(), sealed(), sops.SopsKeys(), "old.yaml")
    assert caught.value.diagnostics[0].file == "old.yaml"


def test_other_recipients_mean_a_new_file_without_a_warning(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_bytes(b"apiVersion: v1\nkind: Secret\nsops:\n  age: []\n")
    new = OutFile(sealed())
    kept, warnings = keep_unchanged_sops(tmp_path, {"s.yaml": new}, sops.SopsKeys())
    assert (kept, warnings) == ({"s.yaml": new}, [])


def _rendered_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], Path]:
    _sops_project(tmp_path / "p")
    for name in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PASSWORD", "pw-1")
    monkeypatch.chdir(tmp_path)
    args = ["render", "p", "--env", "dev", "-o", "out", "--secret-output", "sops", "--no-lint"]  # lint findings: stderr
    assert main(args) == 0
    return args, Path("out/dev/shop/secret-web-conf.yaml")


def test_a_previous_file_no_key_opens_is_rewritten_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    args, file = _rendered_once(tmp_path, monkeypatch)
    capsys.readouterr()
    assert main(args) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"manifestkit: {file}: warning: the previous sops file cannot be compared, so it is rewritten with new "
        f"ciphertext: cannot decrypt the data key: no usable key for the file's recipients (age: {AGE_RECIPIENT})",
        "  hint: give a key that opens it (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, spec.secrets.sops.ageKeyFile or a gpg "
        "secret key) to keep unchanged Secrets byte for byte",
        "manifestkit: 1 written, 1 unchanged, 0 removed in out"]


def test_a_malformed_key_file_is_an_error_not_a_silent_rewrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    args, _ = _rendered_once(tmp_path, monkeypatch)
    (tmp_path / "bad-key.txt").write_text("not-a-key\n")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "bad-key.txt"))
    capsys.readouterr()
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"{tmp_path / 'bad-key.txt'}:1: error: not an age identity (AGE-SECRET-KEY-1...)\n"
        "  hint: age plugin and SSH identities are not supported\n")


def test_use_binary_without_sops_on_path_fails_the_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = _sops_project(tmp_path / "p")
    (root / "secrets").mkdir()
    doc = sops.encrypt_tree({"password": "pw-sops-9"}, age_recipients=[AGE_RECIPIENT])
    (root / "secrets" / "web.enc.yaml").write_text(sops.to_yaml(doc))
    app = (root / "apps" / "web.yaml").read_text().replace("ref+env://PASSWORD", "ref+sops://secrets/web.enc.yaml#/password")
    (root / "apps" / "web.yaml").write_text(app)
    project = (root / "manifestkit.yaml").read_text().replace(
        "    sops: {ageRecipients:", "    sops: {useBinary: true, ageRecipients:")
    (root / "manifestkit.yaml").write_text(project)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(AGE_KEY))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))   # no sops there, whatever this machine has
    monkeypatch.chdir(root)
    assert main(["render", ".", "--env", "dev", "-o", "-"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "apps/web.yaml:13: error: ref+sops://secrets/web.enc.yaml#/password+: 'secrets/web.enc.yaml': found no `sops` "
        "binary on PATH; expected one, as spec.secrets.sops.useBinary is true\n"
        "  hint: install sops (https://github.com/getsops/sops), or set `spec.secrets.sops.useBinary: false` to "
        "decrypt natively\n")

    assert "pw-sops-9" not in err
