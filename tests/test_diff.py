"""`manifestkit diff`: what a render would change, Secret content never shown."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from manifestkit.cli import main

from .conftest import EXAMPLES


def test_diff_shows_changes_and_redacts_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "shop"
    shutil.copytree(EXAMPLES / "shop", project, ignore=shutil.ignore_patterns("build"))
    out = tmp_path / "out"
    assert main(["render", str(project), "--env", "dev", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["diff", str(project), "--env", "dev", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""

    (project / "manifestkit.yaml").write_text((project / "manifestkit.yaml").read_text().replace(
        "spec:\n", "spec:\n  secrets: {env: {allow: [WEB_TOKEN]}}\n", 1))
    web = project / "apps" / "web.yaml"
    web.write_text(web.read_text().replace("listen: 8080", "listen: 9090").replace(
        "  service:", "  secrets:\n    web-token: {stringData: {token: ref+env://WEB_TOKEN}}\n  service:"))
    monkeypatch.setenv("WEB_TOKEN", "s3cr3t-value-never-shown")
    assert main(["diff", str(project), "--env", "dev", "-o", str(out)]) == 1
    diff = capsys.readouterr().out
    assert "s3cr3t-value-never-shown" not in diff
    secret_file = out / "dev" / "shop-dev" / "secret-web-token.yaml"
    assert f"--- {secret_file}\n+++ {secret_file}\n<redacted, changed>\n" in diff
    assert "-        listen 8080;\n+        listen 9090;\n" in diff
    assert diff.count("manifestkit.dev/config-checksum") == 2, "the web pods roll: old and new checksum"
