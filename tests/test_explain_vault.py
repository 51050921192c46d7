"""`manifestkit explain` on a project whose secrets a real OpenBao dev server holds: the values resolved for the
render are never in any answer, text or JSON, listing, field or error; the Secret's data names its entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from manifestkit.cli import main
from tests._openbao import (  # noqa: F401
    OpenBao,
    openbao_disposable_server,
    openbao_server,
    write_kv2,
)

from .test_vault_render import app, project, use_server

VALUES = {"password": "explain-pass-5e1f", "user": "explain-user-9c0d"}


@pytest.fixture
def vaulted(openbao: OpenBao, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_kv2(openbao, "explain/web", VALUES)
    secrets = {"web-conf": {"stringData": {"password": "ref+vault://secret/data/explain/web#/password",
                                           "dsn": "pg://ref+vault://secret/data/explain/web#/user+@db"}}}
    root = project(tmp_path / "p", {"web": app("web", secrets, {"DB_USER": "ref+vault://secret/data/explain/web#/user"})})
    use_server(monkeypatch, openbao)
    monkeypatch.chdir(root)
    return root


FIELDS = ["", "Secret/web-conf", "Secret/web-conf.data.password", "Secret/web-env.data", "spec.template.spec",
          "spec.template.metadata.annotations", "Secret/web-conf.data.password.x"]


@pytest.mark.parametrize("output", ["text", "json"])
def test_no_resolved_value_in_any_answer(vaulted: Path, output: str, capsys: pytest.CaptureFixture[str]) -> None:
    shown = []
    for field in FIELDS:
        code = main(["explain", "web", *([field] if field else []), "--output", output, "-v"])
        captured = capsys.readouterr()
        assert code == (2 if field.endswith(".x") else 0), captured.err
        shown.append(captured.out + captured.err)
    assert [v for v in VALUES.values() for text in shown if v in text] == []


def test_the_secret_data_names_its_entry(vaulted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "web", "Secret/web-conf.data.password", "--output", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["value"], [(e["writer"], e["name"], e["value"], e["via"]) for e in data["chain"]]) == (
        "<redacted>",
        [("secrets", "secret", "<redacted>", {"file": "apps/web.yaml", "line": 15,
                                              "path": "spec.secrets.web-conf.stringData.password"})])
    line = (vaulted / "apps" / "web.yaml").read_text().split("\n")[14]
    assert line.strip() == "password: ref+vault://secret/data/explain/web#/password"
