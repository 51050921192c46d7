"""Work done in a forked child beside the parent's own: the render lints its output while it writes it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from manifestkit.beside import beside
from manifestkit.cli import main
from manifestkit.cmd_render import LINT_BESIDE_AT

from ._fixtures import write_files
from .test_lint_render import JOB, PROJECT, _both_routes, _job

PARENT = os.getpid()


def _pid_and_square() -> tuple[int, int]:
    return os.getpid(), 12 * 12


@pytest.mark.parametrize("fork", [True, False])
def test_the_result_is_the_work_done_once(fork: bool) -> None:
    pid, value = beside(_pid_and_square, fork=fork).result()
    assert value == 144
    assert (pid != PARENT) is fork and hasattr(os, "fork")


def _fails_in_the_child() -> int:
    if os.getpid() != PARENT:
        raise RuntimeError("only in the child")
    return 7


def _unpicklable() -> object:
    return lambda: os.getpid()


def test_whatever_fails_in_the_child_is_done_by_the_parent() -> None:
    assert beside(_fails_in_the_child).result() == 7
    made = beside(_unpicklable).result()
    assert callable(made) and made() == PARENT   # made in the parent: the child's lambda could not come back


def test_the_parents_errors_are_its_own() -> None:
    def boom() -> int:
        raise ValueError("no")
    pending = beside(boom)
    with pytest.raises(ValueError, match="no"):
        pending.result()


def _sleeps() -> int:
    time.sleep(60)
    return 1


def test_a_child_whose_result_is_not_asked_for_is_stopped() -> None:
    pending = beside(_sleeps)
    pid = pending._pid
    assert pid
    del pending    # the caller failed on its own side
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)   # stopped and reaped: no such child any more


APP = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: app-%d, namespace: shop}
spec:
  containers:
    - {name: app, image: "nginx:1.27", ports: [{name: http, containerPort: 8080}]}
  configMaps: {app-%d-config: {data: {MODE: fast}}}
  service: {ports: [{name: http, port: 80, targetPort: htttp}]}
"""


def test_a_big_render_lints_beside_its_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    apps = {f"apps/app-{i}.yaml": APP % (i, i) for i in range(LINT_BESIDE_AT // 3 + 1)}
    root = write_files(tmp_path / "p", {**apps, "apps/report.yaml": JOB, "manifestkit.yaml": PROJECT % ""})
    out = tmp_path / "out"
    job = _job(root, "plain", out)
    assert len(job.emitted.files) >= LINT_BESIDE_AT
    expected, _ = _both_routes(job)
    assert main(["render", str(root), "-o", str(out)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"manifestkit: {len(job.emitted.files)} written, 0 unchanged, 0 removed in {out}"
    assert err[1:] == [line for d in expected for line in d.format().splitlines()]
    assert {d.rule for d in expected} >= {"MK006", "MK018"}
