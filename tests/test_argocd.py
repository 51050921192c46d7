"""The Argo CD Config Management Plugin, run exactly as the repo server runs it: its generate command, in the app's
folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from manifestkit.cli import main

from .conftest import EXAMPLES, ROOT


def plugin() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "manifestkit", "argocd-plugin", "config"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    config: dict[str, object] = yaml.safe_load(done.stdout)
    return config


def repo_server(app_dir: Path, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """generate.command in the source folder, with the build environment Argo CD sets (and a PATH to our
    manifestkit)."""
    spec = plugin()["spec"]
    assert isinstance(spec, dict)
    command = [*spec["generate"]["command"], *spec["generate"].get("args", [])]
    bin_dir = Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(app_dir), "PYTHONPATH": str(ROOT),
           "ARGOCD_APP_NAME": "shop-prod", "ARGOCD_APP_NAMESPACE": "shop-prod", "ARGOCD_APP_REVISION": "abc123",
           "ARGOCD_APP_SOURCE_PATH": ".", "ARGOCD_APP_SOURCE_REPO_URL": "https://git.example.com/shop.git",
           "KUBE_VERSION": "1.30", **extra}
    return subprocess.run(command, cwd=app_dir, env=env, capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    project = tmp_path / "shop"
    shutil.copytree(EXAMPLES / "shop", project, ignore=shutil.ignore_patterns("build"))
    return project


def test_plugin_config_is_a_cmp_that_discovers_projects() -> None:
    config = plugin()
    assert (config["apiVersion"], config["kind"], config["metadata"]) == (
        "argoproj.io/v1alpha1",
        "ConfigManagementPlugin",
        {"name": "manifestkit"},
    )
    spec = config["spec"]
    assert isinstance(spec, dict)
    assert spec["generate"] == {"command": ["manifestkit", "argocd-plugin", "generate"]}
    assert spec["discover"] == {"fileName": "./manifestkit.yaml"}


@pytest.mark.parametrize("extra", [{"PARAM_ENV": "prod"}, {"ARGOCD_ENV_MANIFESTKIT_ENV": "prod"}])
def test_generate_prints_only_the_objects_of_the_environment(shop: Path, extra: dict[str, str],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    done = repo_server(shop, extra)
    assert done.returncode == 0, done.stderr
    objects = list(yaml.safe_load_all(done.stdout))
    assert all(isinstance(o, dict) and o.get("apiVersion") and o.get("kind") for o in objects)
    assert {o["metadata"].get("namespace") for o in objects} == {"shop-prod"}
    assert main(["render", str(shop), "--env", "prod", "-o", "-"]) == 0
    assert done.stdout == capsys.readouterr().out, "generate prints exactly what render -o - prints"
    assert list(shop.iterdir()) == [p for p in shop.iterdir() if p.name != "build"], (
        "nothing written into the source folder"
    )


def test_generate_without_an_environment_says_how_to_choose(shop: Path) -> None:
    done = repo_server(shop, {})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "manifestkit: error: shop-prod: the project has environments dev, prod; expected one chosen\n"
        "  hint: set spec.source.plugin.parameters [{name: env, string: dev}] "
        "or spec.source.plugin.env [{name: MANIFESTKIT_ENV, value: dev}]\n"
    )


def test_sidecar_runs_the_cmp_server_as_user_999(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["argocd-plugin", "sidecar"]) == 0
    config_map, patch = yaml.safe_load_all(capsys.readouterr().out)
    assert yaml.safe_load(config_map["data"]["plugin.yaml"])["kind"] == "ConfigManagementPlugin"
    container = patch["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/var/run/argocd/argocd-cmp-server"]
    assert container["securityContext"] == {"runAsNonRoot": True, "runAsUser": 999}
    assert {"name": "manifestkit-plugin", "mountPath": "/home/argocd/cmp-server/config/plugin.yaml",
            "subPath": "plugin.yaml"} in container["volumeMounts"]
