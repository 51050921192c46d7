"""Bad input: every case exits 2, prints located diagnostics (pinned whole in
tests/golden/errors/<case>.txt; regenerate with --update-golden and review) and writes nothing."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from manifestkit.cli import main

GOLDEN = Path(__file__).parent / "golden" / "errors"

APP_HEAD = "apiVersion: manifestkit.dev/v1alpha1\nkind: App\nmetadata: {name: web}\nspec:\n"
GOOD_CONTAINER = "  containers:\n    - name: web\n      image: nginx:1.25\n"
PROJECT = ("apiVersion: manifestkit.dev/v1alpha1\nkind: Project\nmetadata: {name: p}\nspec:\n"
           "  apps: [apps/*.yaml]\n  environments:\n    dev: {overlays: [overlays/dev.yaml]}\n")
OUTSIDE = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
           "spec: {template: {spec: {containers: [{name: web, image: x}]}}}\n")
CONFIG = "  configMaps:\n    web-config: {data: {MODE: normal}}\n"
OVERLAY = "apiVersion: manifestkit.dev/v1alpha1\nkind: Overlay\nmetadata: {name: %s}\nspec:\n  labels: {env: x}\n"


def _bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


# name → (files, extra argv); the App/Project rendered is the first file.
CASES: dict[str, tuple[dict[str, str], list[str]]] = {
    "broken-yaml": ({"app.yaml": APP_HEAD + "  containers: [\n    - name: web\n"}, []),
    "tab-indent": ({"app.yaml": APP_HEAD + "  containers:\n\t- name: web\n"}, []),
    "duplicate-key": ({"app.yaml": APP_HEAD + "  replicas: 2\n" + GOOD_CONTAINER + "  replicas: 3\n"}, []),
    "wrong-type": ({"app.yaml": APP_HEAD + "  replicas: three\n" + GOOD_CONTAINER}, []),
    "quoted-number": ({"app.yaml": APP_HEAD + "  replicas: '3'\n" + GOOD_CONTAINER}, []),
    "unknown-field": ({"app.yaml": APP_HEAD + "  replica: 2\n" + GOOD_CONTAINER}, []),
    "unknown-container-field": ({"app.yaml": APP_HEAD + GOOD_CONTAINER + "      imagePullPolicyy: Always\n"}, []),
    "unknown-workload": ({"app.yaml": APP_HEAD + "  workload: Deploymnet\n" + GOOD_CONTAINER}, []),
    "missing-image": ({"app.yaml": APP_HEAD + "  containers:\n    - name: web\n"}, []),
    "no-containers": ({"app.yaml": APP_HEAD + "  replicas: 1\n"}, []),
    "invalid-name": ({"app.yaml": APP_HEAD.replace("web", "Web_App") + GOOD_CONTAINER}, []),
    "invalid-container-name": ({"app.yaml": APP_HEAD + "  containers:\n    - name: Web.1\n      image: nginx\n"}, []),
    "port-out-of-range": ({"app.yaml": APP_HEAD + GOOD_CONTAINER + "      ports: [{containerPort: 70000}]\n"}, []),
    "env-list-value": ({"app.yaml": APP_HEAD + GOOD_CONTAINER + "      env: {A: [1, 2]}\n"}, []),
    "not-manifestkit": ({"app.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"}, []),
    "wrong-kind": (
        {"app.yaml": "apiVersion: manifestkit.dev/v1alpha1\nkind: Ap\nmetadata: {name: web}\nspec: {}\n"},
        [],
    ),
    "empty-file": ({"app.yaml": "# nothing here\n"}, []),
    "base-missing": ({"app.yaml": APP_HEAD + "  base: manifests/web.yaml\n"}, []),
    "base-no-workload": (
        {
            "app.yaml": APP_HEAD + "  base: web.yaml\n",
            "web.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n",
        },
        [],
    ),
    "template-undefined": (
        {
            "app.yaml": APP_HEAD + GOOD_CONTAINER + "  configMaps:\n    cfg:\n      files:\n"
            "        app.conf: {template: app.conf.j2}\n  values: {port: 80}\n",
            "app.conf.j2": "listen {{ values.port }};\nserver_name {{ values.host }};\n",
        },
        [],
    ),
    "template-outside-project": (
        {
            "app.yaml": APP_HEAD + GOOD_CONTAINER + "  configMaps:\n    cfg:\n      files:\n"
            "        passwd: {file: ../../../../../etc/passwd}\n"
        },
        [],
    ),
    "config-file-missing": (
        {
            "app.yaml": APP_HEAD + GOOD_CONTAINER + "  configMaps:\n    cfg:\n      files:\n"
            "        a.conf: conf/a.conf\n"
        },
        [],
    ),
    "alias-bomb": ({"app.yaml": _bomb()}, []),
    "extends-cycle": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER,
            "overlays/dev.yaml": OVERLAY % "dev" + "  extends: [base.yaml]\n",
            "overlays/base.yaml": OVERLAY % "base" + "  extends: [dev.yaml]\n",
        },
        [],
    ),
    "overlay-missing": ({"manifestkit.yaml": PROJECT, "apps/web.yaml": APP_HEAD + GOOD_CONTAINER}, []),
    "builtin-overlay-unknown": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER,
            "overlays/dev.yaml": OVERLAY % "dev" + "  extends: ['builtin:prod']\n",
        },
        [],
    ),
    "apps-glob-empty": (
        {"manifestkit.yaml": PROJECT.replace("apps/*.yaml", "services/*.yaml"), "overlays/dev.yaml": OVERLAY % "dev"},
        [],
    ),
    "duplicate-app": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/a.yaml": APP_HEAD + GOOD_CONTAINER,
            "apps/b.yaml": APP_HEAD + GOOD_CONTAINER,
            "overlays/dev.yaml": OVERLAY % "dev",
        },
        [],
    ),
    "unknown-env": (
        {"manifestkit.yaml": PROJECT, "apps/web.yaml": APP_HEAD + GOOD_CONTAINER, "overlays/dev.yaml": OVERLAY % "dev"},
        ["--env", "dve"],
    ),
    "overlay-unknown-field": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER,
            "overlays/dev.yaml": OVERLAY % "dev" + "  namespce: dev\n",
        },
        [],
    ),
    "many-errors-one-file": (
        {
            "app.yaml": APP_HEAD + "  replicas: -1\n  workload: Job2\n  containers:\n"
            "    - name: web\n      imagee: nginx\n"
        },
        [],
    ),
    "bad-file-missing": ({}, ["nothing-here.yaml"]),
    # The load restrictor (issue 11): nothing a project names may resolve outside it, symlinks followed.
    # A value "-> TARGET" makes a symlink.
    "base-outside-project": ({"app.yaml": APP_HEAD + "  base: ../outside.yaml\n", "../outside.yaml": OUTSIDE}, []),
    "base-symlink-outside": (
        {"app.yaml": APP_HEAD + "  base: web.yaml\n", "web.yaml": "-> ../outside.yaml", "../outside.yaml": OUTSIDE},
        [],
    ),
    "overlay-symlink-outside": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER,
            "overlays/dev.yaml": "-> ../../evil.yaml",
            "../evil.yaml": OVERLAY % "evil",
        },
        [],
    ),
    "extends-outside-project": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER,
            "overlays/dev.yaml": OVERLAY % "dev" + "  extends: [../../evil.yaml]\n",
            "../evil.yaml": OVERLAY % "evil",
        },
        [],
    ),
    "builtin-overlay-path": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER,
            "overlays/dev.yaml": OVERLAY % "dev" + "  extends: ['builtin:../../../evil']\n",
        },
        [],
    ),
    "apps-glob-outside": (
        {
            "manifestkit.yaml": PROJECT.replace("apps/*.yaml", "../*.yaml"),
            "overlays/dev.yaml": OVERLAY % "dev",
            "../other.yaml": APP_HEAD + GOOD_CONTAINER,
        },
        [],
    ),
    "template-include-symlink": (
        {
            "app.yaml": APP_HEAD + GOOD_CONTAINER + "  configMaps:\n    cfg:\n      files:\n"
            "        app.conf: {template: app.conf.j2}\n",
            "app.conf.j2": "{% include 'inc.j2' %}\n",
            "inc.j2": "-> ../secret.txt",
            "../secret.txt": "not for the project\n",
        },
        [],
    ),
    "overlay-empty": (
        {"manifestkit.yaml": PROJECT, "apps/web.yaml": APP_HEAD + GOOD_CONTAINER, "overlays/dev.yaml": "# to do\n"},
        [],
    ),
    "deep-nesting": ({"app.yaml": APP_HEAD + GOOD_CONTAINER + "  values: " + "[" * 400 + "]" * 400 + "\n"}, []),
    "bad-tag": ({"app.yaml": APP_HEAD + "  replicas: !!int two\n" + GOOD_CONTAINER}, []),
    "nul-character": ({"app.yaml": APP_HEAD + GOOD_CONTAINER + "      args: [a\x00b]\n"}, []),
    # Overlays cannot silently miss (issue 10): every entry names something that exists, or says it adds it.
    "overlay-unknown-app": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER,
            "overlays/dev.yaml": OVERLAY % "dev" + "  apps:\n    wbe: {replicas: 3}\n",
        },
        [],
    ),
    "overlay-unknown-container": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER,
            "overlays/dev.yaml": OVERLAY % "dev" + "  apps:\n    web:\n"
            "      containers: [{name: wbe, env: {MODE: dev}}]\n",
        },
        [],
    ),
    "overlay-unknown-configmap": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER + CONFIG,
            "overlays/dev.yaml": OVERLAY % "dev" + "  apps:\n    web:\n"
            "      configMaps: {web-confg: {data: {MODE: dev}}}\n",
        },
        [],
    ),
    "overlay-unknown-secret": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER,
            "overlays/dev.yaml": OVERLAY % "dev" + "  apps:\n    web:\n"
            "      secrets: {web-secret: {stringData: {A: b}}}\n",
        },
        [],
    ),
    "overlay-unknown-pattern": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER,
            "overlays/dev.yaml": OVERLAY % "dev" + "  apps:\n    web:\n"
            "      patterns: [{use: sidecar, with: {container: {name: x, image: y}}}]\n",
        },
        [],
    ),
    "overlay-unknown-shared-configmap": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER + CONFIG,
            "overlays/dev.yaml": OVERLAY % "dev" + "  configMaps: {web-conf: {data: {A: b}}}\n",
        },
        [],
    ),
    "overlay-unknown-object": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER + CONFIG,
            "overlays/dev.yaml": OVERLAY % "dev" + "  patches:\n"
            "    - target: {kind: ConfigMap, name: web-cfg}\n"
            "      merge: {data: {A: b}}\n",
        },
        [],
    ),
    "overlay-replicas-with-autoscaling": (
        {
            "manifestkit.yaml": PROJECT,
            "apps/web.yaml": APP_HEAD + GOOD_CONTAINER + "  autoscaling: {maxReplicas: 4}\n",
            "overlays/dev.yaml": OVERLAY % "dev" + "  apps:\n    web: {replicas: 3}\n",
        },
        [],
    ),
    "cr-without-schema": (
        {
            "app.yaml": APP_HEAD + "  objects:\n    - apiVersion: cert-manager.io/v1\n"
            "      kind: Certificate\n      metadata: {name: web-tls}\n"
            "      spec: {secretName: web-tls}\n"
        },
        [],
    ),
    "objects-file-missing": ({"app.yaml": APP_HEAD + "  objects: [k8s/*.yaml]\n"}, []),
    "objects-outside-project": (
        {"app.yaml": APP_HEAD + "  objects: [../outside.yaml]\n", "../outside.yaml": OUTSIDE},
        [],
    ),
}


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if text.startswith("-> "):
            path.symlink_to(text[3:])
        else:
            path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], update_golden: bool,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    files, extra = CASES[name]
    project = tmp_path / "project"
    project.mkdir()
    _write(project, files)
    monkeypatch.chdir(project)
    target = [next(iter(files))] if files and not extra[:1] == ["nothing-here.yaml"] else []
    out = tmp_path / "out"
    code = main(["render", *target, *extra, "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert not out.exists(), "bad input must leave no output"
    assert "Traceback" not in captured.err
    assert captured.out == ""
    golden = GOLDEN / f"{name}.txt"
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(captured.err, encoding="utf-8")
    assert captured.err == golden.read_text(encoding="utf-8")


def test_alias_bomb_is_refused_without_expanding(tmp_path: Path) -> None:
    from manifestkit.diagnostics import ManifestkitError
    from manifestkit.yamlio import load_documents

    tracemalloc.start()
    with pytest.raises(ManifestkitError):
        load_documents(_bomb(), "bomb.yaml")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, f"peak memory {peak} bytes"

