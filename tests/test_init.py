"""`manifestkit init`: a skeleton that renders and validates as it is, and never overwrites a file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from manifestkit.cli import main
from manifestkit.cmd_init import FILES, project_name


def test_init_renders_and_validates_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "My Shop"
    assert main(["init", str(project)]) == 0
    assert capsys.readouterr().err == (f"manifestkit: made project 'my-shop' in {project} (7 files); next: "
                                       f"cd {project} && manifestkit render && manifestkit validate build\n")
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()) == sorted(FILES.values())
    assert main(["render", str(project)]) == 0
    assert "manifestkit: 7 written, 0 unchanged, 0 removed in" in capsys.readouterr().err
    assert main(["render", str(project), "--check"]) == 0
    assert main(["validate", "--strict", "--fail-on", "info", "-k", "1.30", str(project / "build"),
                 *(str(project / rel) for rel in FILES.values() if rel.endswith(".yaml"))]) == 0
    assert capsys.readouterr().out.count("error") == 0
    namespaces = sorted(p.name for p in (project / "build").glob("*/*"))
    assert namespaces == ["my-shop-dev", "my-shop-prod"]


def test_generated_hook_and_ci_files_run_manifestkit(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path), "--name", "shop"]) == 0
    hooks = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    assert [h["id"] for h in hooks["repos"][0]["hooks"]] == ["manifestkit-render-check", "manifestkit-validate"]
    published = {h["id"] for h in yaml.safe_load((Path(__file__).parents[1] / ".pre-commit-hooks.yaml").read_text())}
    assert {h["id"] for h in hooks["repos"][0]["hooks"]} <= published
    steps = yaml.safe_load((tmp_path / ".github" / "workflows" / "manifestkit.yaml").read_text())["jobs"]["manifests"][
        "steps"
    ]
    assert [s["run"] for s in steps if "run" in s][1:] == [
        "manifestkit render --check",
        "manifestkit validate --strict -k 1.30 build",
    ]


def test_init_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "manifestkit.yaml").write_text("mine\n")
    assert main(["init", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"{tmp_path / 'manifestkit.yaml'}: error: found an existing file; init writes only new files\n"
        "  hint: init into an empty folder: manifestkit init NEW-DIR\n"
    )
    assert (tmp_path / "manifestkit.yaml").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifestkit.yaml"]


def test_bad_name_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path), "--name", "Shop_1"]) == 2
    assert capsys.readouterr().err == (
        "manifestkit: error: --name 'Shop_1' is not a Kubernetes namespace name; expected lower-case "
        "letters, digits and dashes, at most 50 characters\n  hint: pass --name my-project\n"
    )


@pytest.mark.parametrize(
    ("folder", "name"), [("shop", "shop"), ("My Shop!", "my-shop"), ("___", "my-project"), ("a" * 80, "a" * 50)]
)
def test_project_name(tmp_path: Path, folder: str, name: str) -> None:
    assert project_name(tmp_path / folder) == name
