"""Packaging: the wheel carries templates/, overlays/ and schemas/; every command has --help."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from manifestkit import __version__
from manifestkit.cli import COMMANDS, main

from .conftest import ROOT


def test_wheel_contains_data_folders(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(tmp_path.glob("manifestkit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("templates", "overlays", "schemas"):
        shipped = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*") if p.is_file())
        assert shipped, folder
        for rel in shipped:
            assert f"manifestkit/{rel}" in names, f"{rel} missing from the wheel"
    assert "manifestkit/py.typed" in names


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"manifestkit {__version__}\n"


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    assert "usage: manifestkit" in capsys.readouterr().out


def test_console_script_runs() -> None:
    result = subprocess.run([sys.executable, "-m", "manifestkit", "render", str(ROOT / "examples" / "shop"),
                             "--env", "dev", "-o", "-"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "kind: Deployment" in result.stdout
