"""The render cache (issue 16, point 4): a warm render writes exactly what a render without the cache writes,
whatever input changed in between; a broken entry is rendered again; nothing resolved is ever stored."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from manifestkit.cli import main
from manifestkit.render_cache import FORMAT, Cache, cache_dir, keep, open_pack, save_pack, take
from manifestkit.schema_step import _loaded

from .conftest import EXAMPLES

EXAMPLE_PROJECTS = sorted(p.parent.name for p in EXAMPLES.glob("*/manifestkit.yaml"))


def tree(folder: Path) -> dict[str, bytes]:
    """Every file of an output folder but the ledger (whose fingerprints of Secrets are inode numbers)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".manifestkit-files")}


def render(project: Path, out: Path, *flags: str) -> int:
    shutil.rmtree(out, ignore_errors=True)
    return main(["render", str(project), "-o", str(out), "--allow-plaintext-secrets", "--quiet", "--no-lint", *flags])


def packs(cache: Path, kind: str = "apps") -> list[Path]:
    """The files of the cache holding entries of ``kind``: a pack for each project, environment and shard."""
    return sorted((cache / FORMAT / kind).glob("*/*.json"))


def entries(cache: Path, kind: str = "apps") -> dict[str, Any]:
    """Every entry of ``kind`` in the cache, by its key (each line checked against its digest)."""
    found: dict[str, Any] = {}
    for pack in packs(cache, kind):
        header, *lines = pack.read_bytes().split(b"\n")
        assert header == f"manifestkit-cache {FORMAT} pack {kind} {pack.stem}".encode()
        for line in lines:
            digest, key, body = line.split(b" ", 2)
            assert hashlib.sha256(body).hexdigest().encode() == digest
            found[key.decode()] = json.loads(body)
    return found


def same_as_uncached(project: Path, tmp_path: Path, cache: Path, *flags: str) -> dict[str, bytes]:
    """Render with the cache and without it; the two outputs, asserted equal, and the render's files."""
    assert render(project, tmp_path / "plain", "--no-cache", *flags) == 0
    assert render(project, tmp_path / "cached", "--cache-dir", str(cache), *flags) == 0
    expected = tree(tmp_path / "plain")
    assert tree(tmp_path / "cached") == expected
    return expected


@pytest.mark.parametrize("name", EXAMPLE_PROJECTS)
@pytest.mark.parametrize("fmt", ["plain", "kustomize", "helm"])
def test_a_warm_render_writes_what_an_uncached_one_writes(name: str, fmt: str, tmp_path: Path) -> None:
    project = tmp_path / name
    shutil.copytree(EXAMPLES / name, project)
    cache = tmp_path / "cache"
    first = same_as_uncached(project, tmp_path, cache, "-f", fmt)   # cold: fills the cache
    assert same_as_uncached(project, tmp_path, cache, "-f", fmt) == first   # warm: read from it


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


PROJECT = """apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: cached}
spec:
  apps: [apps/*.yaml]
  resources: [cluster/*.yaml]
  schemas: [crds]
  environments:
    dev: {overlays: [overlays/dev.yaml]}
  kubernetesVersion: "1.30"
"""

FILES = {
    "manifestkit.yaml": PROJECT,
    "overlays/dev.yaml": """apiVersion: manifestkit.dev/v1alpha1
kind: Overlay
metadata: {name: dev}
spec:
  extends: [base.yaml]
  labels: {env: dev}
  patches:
    - target: {kind: Service, name: web}
      merge: {metadata: {annotations: {patched: "yes"}}}
""",
    "overlays/base.yaml": """apiVersion: manifestkit.dev/v1alpha1
kind: Overlay
metadata: {name: base}
spec:
  namespace: cached-dev
""",
    "apps/web.yaml": """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: web, namespace: shop}
spec:
  containers:
    - name: web
      image: nginx:1.25
      ports: [{name: http, containerPort: 8080}]
      envFrom: [{configMapRef: {name: shared-config}}]
      volumeMounts: [{name: conf, mountPath: /etc/nginx/conf.d}]
  volumes: [{name: conf, configMap: {name: web-config}}]
  configMaps:
    web-config:
      files:
        default.conf: {template: ../templates/site.conf.j2}
        mime.types: ../files/mime.types
  service: {ports: [{name: http, port: 80, targetPort: http}]}
  patterns:
    - use: sidecar/mine
      with: {image: "busybox:1.36"}
  values: {listen: 8080}
""",
    "apps/shared.yaml": """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: shared, namespace: shop}
spec:
  configMaps:
    shared-config:
      data: {LOG_LEVEL: info}
  objects:
    - ../manifests/*.yaml
""",
    "apps/legacy.yaml": """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: legacy, namespace: shop}
spec:
  base: ../manifests-base/legacy.yaml
""",
    "manifests-base/legacy.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: legacy}
spec:
  selector: {matchLabels: {app: legacy}}
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers: [{name: legacy, image: "legacy:1.0"}]
""",
    "manifests/cert.yaml": """apiVersion: example.com/v1
kind: Widget
metadata: {name: gadget}
spec: {size: 3}
""",
    "crds/widget.yaml": """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, properties: {size: {type: integer}}}
""",
    "cluster/namespaces.yaml": """apiVersion: v1
kind: Namespace
metadata: {name: cached-dev}
""",
    "templates/site.conf.j2": """{% include "templates/listen.j2" %}
location / { root /srv; }
""",
    "templates/listen.j2": """listen {{ values.listen }};
""",
    "files/mime.types": "text/html html\n",
    "patterns/mine.yaml": """apiVersion: manifestkit.dev/v1alpha1
kind: Pattern
metadata: {name: sidecar/mine}
spec:
  parameters: {type: object, properties: {image: {type: string}}, required: [image]}
  template: |
    container: {name: mine, image: "{{ image }}", args: [sleep, infinity]}
""",
}


def _edit(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        path = root / rel
        text = path.read_text()
        assert old in text, f"{old!r} is not in {rel}"
        path.write_text(text.replace(old, new))
    return change


def _add(rel: str, text: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        write(root, {rel: text})
    return change


# Every kind of input the key covers: after each change the warm render is the uncached render of the new input.
CHANGES = {
    "the App file": _edit("apps/web.yaml", "nginx:1.25", "nginx:1.27"),
    "an overlay": _edit("overlays/dev.yaml", "env: dev", "env: development"),
    "an overlay it extends": _edit("overlays/base.yaml", "cached-dev", "cached-qa"),
    "the Project file": _edit("manifestkit.yaml", "name: cached}", "name: cached-too}"),
    "a ConfigMap file": _edit("files/mime.types", "html", "htm"),
    "a template": _edit("templates/site.conf.j2", "/srv", "/var/www"),
    "a template it includes": _edit("templates/listen.j2", "listen", "listen 0.0.0.0:"),
    "a pattern file": _edit("patterns/mine.yaml", "infinity", "3600"),
    "a base manifest": _edit("manifests-base/legacy.yaml", "legacy:1.0", "legacy:1.1"),
    "an object file": _edit("manifests/cert.yaml", "size: 3", "size: 4"),
    "a new object file the glob matches": _add("manifests/more.yaml", "apiVersion: v1\nkind: ConfigMap\n"
                                               "metadata: {name: more}\ndata: {a: b}\n"),
    "a schema": _edit("crds/widget.yaml", "type: integer", "type: string"),
    "a ConfigMap another app reads": _edit("apps/shared.yaml", "LOG_LEVEL: info", "LOG_LEVEL: debug"),
    "a Project resource": _edit("cluster/namespaces.yaml", "name: cached-dev", "name: cached-dev\n  labels: {a: b}"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_input_is_in_the_key(change: str, tmp_path: Path) -> None:
    project = write(tmp_path / "project", FILES)
    cache = tmp_path / "cache"
    before = same_as_uncached(project, tmp_path, cache)
    assert len(entries(cache)) == 3, "each app is stored"
    CHANGES[change](project)
    _loaded.cache_clear()   # the schema files a process read, by path: one CLI run never sees them change
    code_plain = render(project, tmp_path / "plain", "--no-cache")
    code_cached = render(project, tmp_path / "cached", "--cache-dir", str(cache))
    assert code_cached == code_plain
    assert tree(tmp_path / "cached") == tree(tmp_path / "plain")
    assert (code_plain, tree(tmp_path / "plain")) != (0, before), "the change changes the output (or fails it)"


def test_a_checksum_follows_a_config_map_of_another_app(tmp_path: Path) -> None:
    project = write(tmp_path / "project", FILES)
    cache = tmp_path / "cache"
    before = same_as_uncached(project, tmp_path, cache)
    _edit("apps/shared.yaml", "LOG_LEVEL: info", "LOG_LEVEL: debug")(project)
    after = same_as_uncached(project, tmp_path, cache)
    web = "dev/cached-dev/deployment-web.yaml"
    assert b"config-checksum" in after[web] and after[web] != before[web], "web's pods restart: shared's data changed"


def test_nothing_is_stored_when_the_cache_is_off(tmp_path: Path) -> None:
    project = write(tmp_path / "project", FILES)
    assert render(project, tmp_path / "out", "--no-cache", "--cache-dir", str(tmp_path / "cache")) == 0
    assert not (tmp_path / "cache").exists()


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "edited": lambda raw: raw.replace(b"nginx", b"apache"),
    "foreign": lambda raw: raw.replace(f"manifestkit-cache {FORMAT}".encode(), b"manifestkit-cache v0", 1),
    "empty": lambda raw: b"",
    "not json": lambda raw: b"\n".join([raw.split(b"\n")[0], *(b"%s %s {" % (hashlib.sha256(b"{").hexdigest().encode(),
                                                                              line.split(b" ")[1])
                                                               for line in raw.split(b"\n")[1:])]),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_broken_entry_is_rendered_again(damage: str, tmp_path: Path) -> None:
    project = write(tmp_path / "project", FILES)
    cache = tmp_path / "cache"
    expected = same_as_uncached(project, tmp_path, cache)
    assert packs(cache) and packs(cache, "docs") and packs(cache, "lint") == []     # (--no-lint)
    for pack in packs(cache) + packs(cache, "docs"):
        pack.write_bytes(DAMAGE[damage](pack.read_bytes()))
    assert same_as_uncached(project, tmp_path, cache) == expected
    assert len(entries(cache)) == 3 and len(entries(cache, "docs")) == 3, "each broken pack was written again"


def test_packs_are_written_whole_and_private(tmp_path: Path) -> None:
    cache = Cache(root=tmp_path / "cache")
    pack = open_pack(cache, "apps", "project", "dev")
    keep(pack, "ab" * 32, {"app": "web", "objects": []})
    save_pack(cache, pack)
    again = open_pack(cache, "apps", "project", "dev")
    assert take(again, "ab" * 32) == {"app": "web", "objects": []}
    assert take(again, "cd" * 32) is None
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert [p.name for p in files] == [f"{pack.name}.json"], "no temp file is left beside it"
    assert files[0].stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    before = files[0].stat().st_mtime_ns
    save_pack(cache, again)
    assert files[0].stat().st_mtime_ns == before, "a pack the render only read is not written again"


def test_the_cache_may_not_be_inside_the_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write(tmp_path / "project", FILES)
    out = tmp_path / "out"
    code = main(["render", str(project), "-o", str(out), "--cache-dir", str(out / ".cache")])
    assert code == 2
    shown = os.path.relpath(out)
    assert capsys.readouterr().err == (
        f"manifestkit: error: the render cache {os.path.relpath(out / '.cache')} is inside the output folder {shown}; "
        f"expected a folder outside it\n"
        f"  hint: pass --cache-dir to a folder outside {shown} (or unset MANIFESTKIT_CACHE_DIR), "
        f"or render with --no-cache\n")
    assert not out.exists(), "nothing written"


@pytest.mark.parametrize(("environ", "expected"), [
    ({"MANIFESTKIT_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/c"),
    ({"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/manifestkit"),
    ({"HOME": "/h"}, "/h/.cache/manifestkit"),
])
def test_where_the_cache_is(environ: dict[str, str], expected: str) -> None:
    assert cache_dir(None, environ) == Path(expected)
    assert cache_dir("/given", environ) == Path("/given")


def lint_report(project: Path, out: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
    """A render with the lint of its output: the exit code and what it said."""
    shutil.rmtree(out, ignore_errors=True)
    capsys.readouterr()
    code = main(["render", str(project), "-o", str(out), "--allow-plaintext-secrets", *flags])
    return code, capsys.readouterr().err.replace(str(out), "OUT").replace(os.path.relpath(out), "OUT")


FRONTDOOR = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: frontdoor, namespace: shop}
spec:
  objects:
    - apiVersion: v1
      kind: Service
      metadata: {name: frontdoor}
      spec: {selector: {tier: nowhere}, ports: [{port: 80}]}
    - apiVersion: v1
      kind: Service
      metadata: {name: web-admin}
      spec: {selector: {app.kubernetes.io/name: web}, ports: [{port: 81, targetPort: http}]}
"""


BESIDE = "a workload beside a Service of another app"
RENAMED = "a port name a Service of another app targets"


@pytest.mark.parametrize("change", [*sorted(CHANGES), BESIDE, RENAMED])
def test_the_lint_findings_are_those_of_an_uncached_render(change: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Kept findings of unchanged files, new ones of the rest, and a Service's again when the pods around it
    changed (MK002 counts the workloads of its namespace)."""
    project = write(tmp_path / "project", {**FILES, "apps/frontdoor.yaml": FRONTDOOR})
    cache = ["--cache-dir", str(tmp_path / "cache")]
    first = lint_report(project, tmp_path / "a", capsys, *cache)
    assert first == lint_report(project, tmp_path / "b", capsys, "--no-cache")
    assert "[MK002]" in first[1]
    assert lint_report(project, tmp_path / "a", capsys, *cache) == first
    if change in CHANGES:
        CHANGES[change](project)
    elif change == RENAMED:
        _edit("apps/web.yaml", "{name: http, containerPort: 8080}", "{name: www, containerPort: 8080}")(project)
        _edit("apps/web.yaml", "targetPort: http", "targetPort: www")(project)
    else:
        write(project, {"apps/extra.yaml": "apiVersion: manifestkit.dev/v1alpha1\nkind: App\n"
                                           "metadata: {name: extra, namespace: shop}\n"
                                           "spec: {containers: [{name: extra, image: 'extra:1.0'}]}\n"})
    _loaded.cache_clear()
    after = lint_report(project, tmp_path / "b", capsys, "--no-cache")
    assert lint_report(project, tmp_path / "a", capsys, *cache) == after
    if change == BESIDE:
        assert after[0] == 0 and "of the 3 workloads checked in this namespace" in after[1], after[1]
    if change == RENAMED:
        assert "targetPort 'http' is not a port name of any container of Deployment/cached-dev/web" in after[1]


def test_a_warm_render_renders_only_what_changed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    project = write(tmp_path / "project", FILES)
    cache = ["--cache-dir", str(tmp_path / "cache")]

    def counts() -> list[str]:
        caplog.clear()
        assert render(project, tmp_path / "out", "-v", *cache) == 0
        return [r.getMessage() for r in caplog.records if "from the render cache" in r.getMessage()]

    assert counts() == ["dev: 0 app(s) from the render cache, 3 to render"]
    assert counts() == ["dev: 3 app(s) from the render cache, 0 to render"]
    CHANGES["the App file"](project)
    assert counts() == ["dev: 2 app(s) from the render cache, 1 to render"]
    CHANGES["an overlay"](project)
    assert counts() == ["dev: 0 app(s) from the render cache, 3 to render"], "every app of the environment"
