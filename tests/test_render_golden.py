"""Every example renders to exactly its golden output (plain, one stream per environment),
twice the same, validated; regenerate with --update-golden and review the diff."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from manifestkit.cli import main
from manifestkit.loader import load_project
from manifestkit.model import DEFAULT_ENV

from .conftest import EXAMPLES

GOLDEN = Path(__file__).parent / "golden" / "render"


def _targets() -> list[Path]:
    """Projects (manifestkit.yaml) and, in folders without one, standalone App files."""
    out: list[Path] = []
    for folder in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        if (folder / "manifestkit.yaml").is_file():
            out.append(folder)
        else:
            out.extend(sorted(folder.glob("*.yaml")))
    return out


def _cases() -> list[tuple[Path, str]]:
    return [(target, env) for target in _targets() for env in load_project(target).env_names()]


def _id(case: tuple[Path, str]) -> str:
    target, env = case
    return f"{target.relative_to(EXAMPLES)}:{env}"


@pytest.mark.parametrize("case", _cases(), ids=_id)
def test_example_renders_to_golden(case: tuple[Path, str], capsys: pytest.CaptureFixture[str],
                                   update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    target, env = case
    monkeypatch.chdir(EXAMPLES.parent)
    args = ["render", str(target.relative_to(EXAMPLES.parent)), "-o", "-"]
    if env != DEFAULT_ENV:
        args += ["--env", env]
    assert main(args) == 0, capsys.readouterr().err
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first, "same input must give the same bytes"
    golden = GOLDEN / f"{_id(case).replace(':', '.').replace(os.sep, '__')}.yaml"
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(first, encoding="utf-8")
    assert first == golden.read_text(encoding="utf-8")


def test_shuffled_app_order_gives_same_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Files listed in another order (renamed so globbing sorts them differently) → same bytes."""
    copy = tmp_path / "shop"
    shutil.copytree(EXAMPLES / "shop", copy, ignore=shutil.ignore_patterns("build"))
    assert main(["render", str(copy), "--env", "prod", "-o", "-"]) == 0
    first = capsys.readouterr().out
    for path in sorted((copy / "apps").glob("*.yaml")):
        path.rename(path.with_name(f"z-{path.stem[::-1]}.yaml"))
    assert main(["render", str(copy), "--env", "prod", "-o", "-"]) == 0
    assert capsys.readouterr().out == first
