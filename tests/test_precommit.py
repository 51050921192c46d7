"""The pre-commit hooks, run by the real `pre-commit try-repo` on a throw-away git repository.

The hooks repository is a copy of this work tree committed in a temporary git repository
(try-repo installs it with pip into its own environment, from PyPI); PRE_COMMIT_HOME is
temporary too. Slow (one environment build), so both hooks share one module fixture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "manifestkit", "schemas", "templates", "overlays")

GOOD = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: shop}
data: {MODE: fast}
"""
BAD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
    - name: web
      image: nginx:1.25.4
      securityContext: {privileged: true}
"""
PROJECT = "apiVersion: manifestkit.dev/v1alpha1\nkind: Project\nmetadata: {name: shop}\nspec:\n  apps: [apps/*.yaml]\n"
APP = """\
apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: web, namespace: shop}
spec:
  workload: Deployment
  containers:
    - name: web
      image: nginx:1.25.4
"""


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
                   cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    base = tmp_path_factory.mktemp("precommit")
    hooks = base / "hooks-repo"
    hooks.mkdir()
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, hooks / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.is_file():
            shutil.copy2(source, hooks / name)
    git(hooks, "init", "-q")
    git(hooks, "add", "-A")
    git(hooks, "commit", "-q", "-m", "hooks under test")
    user = base / "user-repo"
    user.mkdir()
    git(user, "init", "-q")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "GIT_"))}
    environ.update(PRE_COMMIT_HOME=str(base / "cache"), CI="true", PIP_DISABLE_PIP_VERSION_CHECK="1")
    yield hooks, user, environ


def try_repo(hooks: Path, user: Path, environ: dict[str, str], hook: str, *files: str) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), hook, "--verbose"]
    args += ["--files", *files] if files else ["--all-files"]
    return subprocess.run(args, cwd=user, env=environ, capture_output=True, text=True, check=False, timeout=900)


def test_validate_hook_passes_good_and_fails_bad_files(env: tuple[Path, Path, dict[str, str]]) -> None:
    hooks, user, environ = env
    (user / "good.yaml").write_text(GOOD)
    (user / "bad.yaml").write_text(BAD)
    (user / "notes.txt").write_text("privileged: true\n")
    git(user, "add", "-A")
    good = try_repo(hooks, user, environ, "manifestkit-validate", "good.yaml", "notes.txt")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "manifestkit validate" in good.stdout and "Passed" in good.stdout
    bad = try_repo(hooks, user, environ, "manifestkit-validate", "good.yaml", "bad.yaml")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert ("bad.yaml:8:25: error [MK009]: spec.containers[0].securityContext.privileged: Pod/shop/web: "
            "container 'web' runs privileged for its whole life") in bad.stdout


def test_render_check_hook_fails_when_output_is_out_of_date(env: tuple[Path, Path, dict[str, str]]) -> None:
    hooks, base_user, environ = env
    user = base_user.parent / "render-repo"
    user.mkdir()
    git(user, "init", "-q")
    (user / "manifestkit.yaml").write_text(PROJECT)
    (user / "apps").mkdir()
    (user / "apps" / "web.yaml").write_text(APP)
    subprocess.run([sys.executable, "-m", "manifestkit", "render"], cwd=user, check=True, capture_output=True)
    git(user, "add", "-A")
    fresh = try_repo(hooks, user, environ, "manifestkit-render-check")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    (user / "apps" / "web.yaml").write_text(APP.replace("nginx:1.25.4", "nginx:1.25.5"))
    git(user, "add", "-A")
    stale = try_repo(hooks, user, environ, "manifestkit-render-check")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "manifestkit render --check" in stale.stdout and "Failed" in stale.stdout
