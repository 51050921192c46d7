"""Issue 16 (memory): a render lets go of what it no longer needs, so what it holds at its peak is the output,
not the loaded project as well."""

from __future__ import annotations

import argparse
import gc
import os
import shutil
from pathlib import Path

import pytest

from manifestkit.cmd_render import _lint, configure_render, plan
from manifestkit.model import App
from manifestkit.render_lint import lint_files, render_config

from .conftest import EXAMPLES


def _apps_alive(root: Path) -> list[App]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, App) and o.root.resolve().is_relative_to(root)]


@pytest.mark.parametrize("fmt", ["plain", "kustomize", "helm"])
@pytest.mark.parametrize("example", ["platform", "shop"])
def test_no_app_is_held_once_the_render_is_planned(example: str, fmt: str, tmp_path: Path) -> None:
    root = (tmp_path / example).resolve()
    shutil.copytree(EXAMPLES / example, root)
    parser = argparse.ArgumentParser()
    configure_render(parser)
    args = parser.parse_args([str(root), "-o", str(tmp_path / "out"), "-f", fmt, "--allow-plaintext-secrets",
                              "--cache-dir", str(tmp_path / "cache")])
    assert _apps_alive(root) == []
    job = plan(args, dict(os.environ))
    assert job.emitted.files
    assert _apps_alive(root) == []


def test_the_write_is_given_bytes_only(tmp_path: Path) -> None:
    root = (tmp_path / "shop").resolve()
    shutil.copytree(EXAMPLES / "shop", root)
    parser = argparse.ArgumentParser()
    configure_render(parser)
    args = parser.parse_args([str(root), "-o", str(tmp_path / "out"), "--allow-plaintext-secrets", "--no-cache"])
    job = plan(args, dict(os.environ))
    assert any(out.objects for out in job.emitted.files.values())
    findings, written = _lint(args, job)
    assert {rel: (out.data, out.mode) for rel, out in written.items()} == \
        {rel: (out.data, out.mode) for rel, out in job.emitted.files.items()}
    assert not any(out.objects for out in written.values())
    assert findings.result() == lint_files(job.emitted.files, job.target, render_config(job.project.file, Path.cwd()))
