"""Issue 13, point 10: `render` runs the lint rules, so a render that exits 0 passes `manifestkit validate`."""

from __future__ import annotations

from pathlib import Path

import pytest

from manifestkit.cli import main

from ._fixtures import write_files

PROJECT = """apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: shop}
spec:
  apps: [apps/*.yaml]
%s"""
# A Job with a classic nginx sidecar never completes: MK018, an error.
JOB = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: report, namespace: shop}
spec:
  workload: Job
  containers:
    - {name: report, image: "busybox:1.36", command: [sh, -c, "echo done"]}
    - {name: proxy, image: "nginx:1.27"}
"""


def project(root: Path, lint: str = "") -> Path:
    return write_files(root, {"manifestkit.yaml": PROJECT % lint, "apps/report.yaml": JOB})


def test_a_lint_error_fails_render_and_validate_alike(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path / "p")
    out = tmp_path / "out"
    assert main(["render", str(root), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    file = out / "default" / "shop" / "job-report.yaml"
    assert (f"{file}:27:9: error [MK018]: spec.template.spec.containers[1]: Job/shop/report: container 'proxy' "
            "(nginx:1.27) keeps running, so the Job never completes") in err.splitlines()
    assert (
        err.splitlines()[0] == f"manifestkit: 1 written, 0 unchanged, 0 removed in {out}"
    )  # the render's own line first
    assert main(["validate", str(out)]) == 1


def test_warnings_are_shown_and_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path / "p", "  lint: {disable: [MK018]}\n")
    assert main(["render", str(root), "-o", "-"]) == 0
    captured = capsys.readouterr()
    assert "warning [MK012]" in captured.err
    assert "MK" not in captured.out.replace("MK018", "")    # findings never go into the output
    assert main(["render", str(root), "-o", "-", "--fail-on", "warning"]) == 1
    capsys.readouterr()
    assert main(["render", str(root), "-o", "-", "--fail-on", "warning", "--no-lint"]) == 0
    assert capsys.readouterr().err == ""
