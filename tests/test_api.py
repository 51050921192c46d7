"""The library API as the README shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

import manifestkit

from .conftest import EXAMPLES


def test_readme_library_example(tmp_path: Path) -> None:
    project = manifestkit.load_project(EXAMPLES / "shop")
    objects = manifestkit.render(project, env="prod")
    assert {o["kind"] for o in objects} >= {"Deployment", "Service", "ConfigMap", "CronJob", "PodDisruptionBudget"}
    written = manifestkit.write(objects, tmp_path / "prod")
    assert "shop-prod/deployment-web.yaml" in written
    assert (tmp_path / "prod" / "shop-prod" / "deployment-web.yaml").is_file()
    findings = manifestkit.validate(objects, kube_version="1.30", strict=True)
    assert [f for f in findings if f.severity == "error"] == []


def test_render_needs_env_when_several() -> None:
    with pytest.raises(manifestkit.ManifestkitError) as exc:
        manifestkit.render(EXAMPLES / "shop")
    assert exc.value.diagnostics[0].message == "the project has several environments (dev, prod); pass env=..."


def test_render_does_not_change_the_project() -> None:
    project = manifestkit.load_project(EXAMPLES / "shop")
    before = repr(project.apps)
    manifestkit.render(project, env="prod")
    assert repr(project.apps) == before
