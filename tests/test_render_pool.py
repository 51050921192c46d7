"""The process pool (issue 16, point 5): apps rendered in worker processes write every byte the serial render
writes, and a mistake in any app is reported exactly as the serial render reports it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from manifestkit.cli import main
from manifestkit.render_pool import AUTO_CORES, AUTO_THRESHOLD, batches, workers

from .conftest import EXAMPLES
from .test_render_cache import FILES, tree, write

APP = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {{name: app-{i}, namespace: ns-{ns}}}
spec:
  replicas: {replicas}
  containers:
    - name: app
      image: ghcr.io/example/app:{i}.0
      ports: [{{name: http, containerPort: 8080}}]
      envFrom: [{{configMapRef: {{name: app-{i}-config}}}}]
  configMaps:
    app-{i}-config: {{data: {{INDEX: "{i}"}}}}
  secrets:
    app-{i}-secret: {{stringData: {{token: not-a-secret-{i}}}}}
  service: {{ports: [{{name: http, port: 80, targetPort: http}}]}}
  patterns:
    - use: sidecar/log-tailer
      with: {{path: /var/log/app, file: app.log}}
"""


def many(root: Path, count: int, broken: dict[int, tuple[str, str]] | None = None) -> Path:
    files = {**FILES, **{f"apps/app-{i}.yaml": APP.format(i=i, ns=i % 3, replicas=1 + i % 2) for i in range(count)}}
    for i, (old, new) in (broken or {}).items():
        files[f"apps/app-{i}.yaml"] = files[f"apps/app-{i}.yaml"].replace(old, new)
    return write(root, files)


def render(project: Path, out: Path, *flags: str) -> int:
    shutil.rmtree(out, ignore_errors=True)
    return main(["render", str(project), "-o", str(out), "--allow-plaintext-secrets", "--quiet", "--no-cache", *flags])


@pytest.mark.parametrize("jobs", ["2", "3"])
def test_workers_write_every_byte_the_serial_render_writes(jobs: str, tmp_path: Path) -> None:
    project = many(tmp_path / "project", 17)
    assert render(project, tmp_path / "serial", "--jobs", "1") == 0
    assert render(project, tmp_path / "pool", "--jobs", jobs) == 0
    expected = tree(tmp_path / "serial")
    assert len(expected) > 17 * 4
    assert tree(tmp_path / "pool") == expected


@pytest.mark.parametrize("name", ["platform", "shop", "microservices-demo"])
def test_the_examples_in_workers(name: str, tmp_path: Path) -> None:
    project = tmp_path / name
    shutil.copytree(EXAMPLES / name, project)
    assert render(project, tmp_path / "serial", "--jobs", "1") == 0
    assert render(project, tmp_path / "pool", "--jobs", "2") == 0
    assert tree(tmp_path / "pool") == tree(tmp_path / "serial")


BAD_OBJECT = "  objects: [{apiVersion: v1, kind: ConfigMap, metadata: {name: bad}, data: {a: 1}}]\n  service:"
BROKEN = {
    "unknown patterns": {4: ("sidecar/log-tailer", "sidecar/log-taler"), 16: ("sidecar/log-tailer", "init/nope")},
    "schema errors in two runs": {1: ("  service:", BAD_OBJECT), 14: ("  service:", BAD_OBJECT)},
    "App file errors": {9: ("containerPort: 8080", "containerPort: 99999"), 3: ("replicas: 2", "replicas: -1")},
    "an object two apps make": {13: ("app-13-config", "app-1-config")},   # not an error: the last one is written
}


@pytest.mark.parametrize("mistake", sorted(BROKEN))
def test_a_mistake_is_reported_as_the_serial_render_reports_it(mistake: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    project = many(tmp_path / "project", 17, BROKEN[mistake])
    serial = render(project, tmp_path / "serial", "--jobs", "1")
    said = capsys.readouterr()
    assert (serial != 0) == (mistake != "an object two apps make"), said.err
    pooled = render(project, tmp_path / "pool", "--jobs", "2")
    assert (pooled, capsys.readouterr()) == (serial, said)
    if serial == 2:
        assert not (tmp_path / "pool").exists(), "nothing written"


@pytest.mark.parametrize("value", ["0", "-1", "two", ""])
def test_bad_jobs_are_a_usage_error(value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["render", str(tmp_path), "--jobs", value])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        f"argument --jobs/-j: found {value!r}; expected a number of processes (1 or more) or auto")


@pytest.mark.parametrize(("jobs", "apps", "cpus", "expected"), [
    (1, 5000, 8, 0), (2, 1, 2, 0), (2, 2, 2, 2), (4, 3, 2, 3), (3, 5000, 1, 3), (None, AUTO_THRESHOLD - 1, 8, 0),
])
def test_how_many_workers(jobs: int | None, apps: int, cpus: int, expected: int) -> None:
    assert workers(jobs, apps, cpus) == expected


def test_auto_uses_every_core_for_many_apps_where_cores_are_left_over() -> None:
    assert workers(None, AUTO_THRESHOLD, AUTO_CORES) == AUTO_CORES
    assert workers(None, AUTO_THRESHOLD, 8) == 8


@pytest.mark.parametrize("cpus", [1, 2, AUTO_CORES - 1])
def test_auto_renders_here_on_few_cores(cpus: int) -> None:
    assert workers(None, 10_000, cpus) == 0


def test_runs_keep_the_apps_in_order_and_the_project_in_the_first() -> None:
    assert batches(["a", "b", "c", "d", "e"], True, 2) == [(["a", "b", "c"], True), (["d", "e"], False)]
    assert batches([], True, 4) == [([], True)]
