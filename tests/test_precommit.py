"""The pre-commit hooks, run by the real `pre-commit try-repo` on a throw-away git repository.

The hooks repository is a copy of this work tree committed in a temporary git repository
(try-repo installs it with pip into its own environment, from PyPI); PRE_COMMIT_HOME is
temporary too. Each try-repo call builds that environment afresh, so one call runs both hooks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._fixtures import CLEAN_CONFIGMAP as GOOD
from ._fixtures import PRIVILEGED_POD as BAD

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = (
    "pyproject.toml",
    "README.md",
    ".pre-commit-hooks.yaml",
    "manifestkit",
    "schemas",
    "templates",
    "overlays",
)


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


def try_repo(hooks: Path, user: Path, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Every hook of the repository under test, on every file of ``user``."""
    args = [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "--verbose", "--all-files"]
    return subprocess.run(args, cwd=user, env=environ, capture_output=True, text=True, check=False, timeout=900)


def test_both_hooks_pass_then_fail_on_an_init_project(env: tuple[Path, Path, dict[str, str]]) -> None:
    """One try-repo run of both hooks on a fresh `manifestkit init` project (both pass), one after breaking it (both
    fail).

    try-repo builds its hook environment in a throw-away store on every call (pre_commit/commands/try_repo.py),
    so the calls, not the hooks, are what costs: two calls cover both hooks passing and failing."""
    hooks, user, environ = env
    subprocess.run(
        [sys.executable, "-m", "manifestkit", "init", "--name", "shop"], cwd=user, check=True, capture_output=True
    )
    subprocess.run([sys.executable, "-m", "manifestkit", "render"], cwd=user, check=True, capture_output=True)
    (user / "good.yaml").write_text(GOOD)
    (user / "notes.txt").write_text("privileged: true\n")
    git(user, "add", "-A")
    fresh = try_repo(hooks, user, environ)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert hook_results(fresh.stdout) == {"manifestkit validate": "Passed", "manifestkit render --check": "Passed"}

    (user / "bad.yaml").write_text(BAD)
    app = user / "apps" / "web.yaml"
    app.write_text(app.read_text().replace("nginx-unprivileged:1.27.3", "nginx-unprivileged:1.27.4"))
    git(user, "add", "-A")
    broken = try_repo(hooks, user, environ)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert hook_results(broken.stdout) == {"manifestkit validate": "Failed", "manifestkit render --check": "Failed"}
    assert ("bad.yaml:8:25: error [MK009]: spec.containers[0].securityContext.privileged: Pod/shop/web: "
            "container 'web' runs privileged for its whole life") in broken.stdout
    assert (
        f"manifestkit: 2 file(s) out of date in {user.resolve() / 'build'}; run `manifestkit render` to update"
        in broken.stdout
    )


def hook_results(stdout: str) -> dict[str, str]:
    """pre-commit's status line of each hook: `manifestkit validate.....Passed`."""
    found = (re.match(r"^(manifestkit [^.]+?)\.{2,}(Passed|Failed)$", line) for line in stdout.splitlines())
    return {m[1]: m[2] for m in found if m}
