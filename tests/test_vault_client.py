"""Vault credentials go only where the user says, and a misbehaving Vault costs a bounded time and a
short exit-2 error (issue 11, points 4 and 10): a real OpenBao server, and loopback HTTP servers that
record what they receive or misbehave in one way each."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifestkit.diagnostics import ManifestkitError
from manifestkit.secrets.vault import VaultReader, vault_config
from tests._fixtures import run_cli, write_files
from tests._openbao import OpenBao, openbao_server, write_kv2  # noqa: F401

TOKEN = "hvs.ci-token-that-must-not-leak"
HOME_TOKEN = "hvs.home-token-that-must-not-leak"
SECRET_ID = "approle-secret-id-that-must-not-leak"

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


class Recorder:
    """A loopback HTTP server: every request's method, path, headers and body, answered by ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.seen: list[str] = []
        recorder = self

        class Handle(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                recorder.seen.append(f"{self.command} {self.path}\n{self.headers}\n{body}")
                handler(self)

            do_GET = do_POST = do_PUT = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handle)
        self.server.daemon_threads = True
        self.address = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], Recorder]]:
    started: list[Recorder] = []

    def start(handler: Handler) -> Recorder:
        started.append(Recorder(handler))
        return started[-1]

    yield start
    for recorder in started:
        recorder.close()


def answer(status: int, body: str, content_type: str = "application/json", **headers: str) -> Handler:
    def handle(request: http.server.BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        for name, value in headers.items():
            request.send_header(name.replace("_", "-"), value)
        request.send_header("Content-Length", str(len(body.encode())))
        request.end_headers()
        request.wfile.write(body.encode())
    return handle


def _project(root: Path, address: str, auth: dict[str, Any] | None = None) -> Path:
    vault: dict[str, Any] = {"address": address, **({"auth": auth} if auth else {})}
    return write_files(root, {
        "manifestkit.yaml": yaml.safe_dump({
            "apiVersion": "manifestkit.dev/v1alpha1", "kind": "Project", "metadata": {"name": "v"},
            "spec": {"apps": ["apps/*.yaml"], "secrets": {"vault": vault}}}),
        "apps/web.yaml": yaml.safe_dump({
            "apiVersion": "manifestkit.dev/v1alpha1", "kind": "App", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}],
                     "secrets": {"web": {"stringData": {"password": "ref+vault://secret/data/web#/password"}}}}}),
    })


def _render(root: Path, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str]:
    code, out, err = run_cli(["render", str(root), "-o", str(root / "out"), *more], capsys)
    return code, out + err


@pytest.fixture
def ci_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A CI machine: VAULT_TOKEN, ~/.vault-token and an AppRole secret id file; no VAULT_ADDR."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".vault-token").write_text(HOME_TOKEN)
    (home / "secret-id").write_text(SECRET_ID)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    for name in ("MANIFESTKIT_VAULT_ADDRESSES", "MANIFESTKIT_TRUST_VAULT_ADDRESS", "MANIFESTKIT_VAULT_DEADLINE"):
        monkeypatch.delenv(name, raising=False)
    return home


UNTRUSTED = ("comes from the project's spec.secrets.vault.address, which may not choose where this machine's Vault "
             "credentials go\n  hint: set VAULT_ADDR, list the address in MANIFESTKIT_VAULT_ADDRESSES, or pass "
             "--trust-vault-address\n")


@pytest.mark.parametrize("auth", [None, {"method": "approle", "roleId": "ci", "secretIdFile": "~/secret-id"},
                                  {"method": "kubernetes", "role": "web", "jwtFile": "~/secret-id"}])
def test_a_project_address_gets_no_credentials(ci_credentials: Path, tmp_path: Path, serve: Any,
                                               capsys: pytest.CaptureFixture[str], auth: dict[str, Any] | None) -> None:
    attacker = serve(answer(200, '{"data": {"data": {"password": "x"}}}'))
    code, printed = _render(_project(tmp_path / "p", attacker.address, auth), capsys)
    assert code == 2
    assert printed.endswith(f"error: Vault address '{attacker.address}' {UNTRUSTED}")
    assert attacker.seen == []
    assert not (tmp_path / "p" / "out").exists()


def test_the_flag_or_the_allow_list_trusts_the_project_address(ci_credentials: Path, tmp_path: Path,
                                                                openbao: OpenBao, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    write_kv2(openbao, "web", {"password": "from-openbao"})
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)
    root = _project(tmp_path / "p", openbao.address)
    assert _render(root, capsys, "--trust-vault-address")[0] == 0
    monkeypatch.setenv("MANIFESTKIT_VAULT_ADDRESSES", f"https://other:8200, {openbao.address}/")
    assert _render(root, capsys)[0] == 0


def test_the_home_token_goes_only_to_the_environment_address(ci_credentials: Path, serve: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(answer(200, '{"data": {"data": {"password": "x"}, "metadata": {"version": 1}}}'))
    environ = {"VAULT_ADDR": server.address, "HOME": str(ci_credentials)}
    VaultReader(vault_config(None, environ)).read("secret/data/web")
    assert all(f"X-Vault-Token: {HOME_TOKEN}" in seen for seen in server.seen)
    # AppRole login never sends the home token or VAULT_TOKEN the process has (hvac would read both itself)
    server.seen.clear()
    spec = {"auth": {"method": "approle", "roleId": "ci", "secretIdFile": str(ci_credentials / "secret-id")}}
    with pytest.raises(ManifestkitError):
        VaultReader(vault_config(spec, environ)).read("secret/data/web")
    assert server.seen and not any(HOME_TOKEN in seen or TOKEN in seen for seen in server.seen)


def test_token_files_are_read_only_for_the_auth_method_that_needs_them(ci_credentials: Path, serve: Any) -> None:
    server = serve(answer(200, '{"data": {"data": {"password": "x"}}}'))
    spec = {"auth": {"method": "token", "roleId": "ci", "secretIdFile": str(ci_credentials / "secret-id")}}
    VaultReader(vault_config(spec, {"VAULT_ADDR": server.address, "VAULT_TOKEN": TOKEN})).read("secret/data/web")
    assert not any(SECRET_ID in seen for seen in server.seen)


def _reader(address: str, **environ: str) -> VaultReader:
    config = vault_config(None, {"VAULT_ADDR": address, "VAULT_TOKEN": TOKEN, **environ})
    return VaultReader(config._replace(backoff=0.01))


def _error(reader: VaultReader, seconds: float = 5.0) -> str:
    began = time.monotonic()
    with pytest.raises(ManifestkitError) as caught:
        reader.read("secret/data/web")
    assert time.monotonic() - began < seconds
    assert caught.value.exit_code == 2
    return str(caught.value)


HTML = "<html><body><h1>Sign in</h1><script>steal()</script></body></html>"


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (answer(429, '{"errors": ["slow down"]}'), "answered 429 too many requests 4 times"),
        (answer(500, HTML, "text/html"), "answered 500 server error 4 times"),
        (answer(200, HTML, "text/html"), "answered HTTP 200 with a body that is not JSON"),
        (answer(200, '{"data": '), "answered HTTP 200 with a body that is not JSON"),
        (
            answer(400, '{"errors": ["' + "x" * 500 + '"]}'),
            "reading Vault secret 'secret/data/web' failed: 400 bad request",
        ),
    ],
)
def test_a_misbehaving_server_is_a_short_error(serve: Any, handler: Handler, message: str) -> None:
    server = serve(handler)
    text = _error(_reader(server.address))
    assert message in text
    assert "<html" not in text and "steal" not in text and "x" * 50 not in text


def test_429_then_success_is_retried(serve: Any) -> None:
    calls: list[int] = []

    def flaky(request: http.server.BaseHTTPRequestHandler) -> None:
        calls.append(1)
        ok = len(calls) > 2
        answer(200 if ok else 429, '{"data": {"data": {"password": "ok"}}}' if ok else "{}")(request)

    server = serve(flaky)
    assert _reader(server.address).read("secret/data/web").data["password"].reveal() == "ok"


def test_redirects_loop_or_leave_the_server(serve: Any) -> None:
    loop = serve(lambda r: answer(307, "", Location="/v1/secret/data/web")(r))
    assert "redirected more than 3 times" in _error(_reader(loop.address))
    other = serve(answer(200, '{"data": {"data": {"password": "x"}}}'))
    away = serve(lambda r: answer(307, "", Location=f"{other.address}/v1/secret/data/web")(r))
    assert "redirected to another server; refusing to follow" in _error(_reader(away.address))
    assert other.seen == []


def test_a_stalled_server_costs_one_deadline_per_render(serve: Any) -> None:
    def trickle(request: http.server.BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "1000")
        request.end_headers()
        for _ in range(20):
            try:
                request.wfile.write(b" ")
                request.wfile.flush()
            except OSError:
                return
            time.sleep(0.3)

    server = serve(trickle)
    reader = _reader(server.address, MANIFESTKIT_VAULT_DEADLINE="1.5")
    assert _error(reader, seconds=3.0) == (
        f"<input>: error: Vault at {server.address} did not answer within 1.5 s\n"
        f"  hint: check the server, or allow more time with MANIFESTKIT_VAULT_DEADLINE=SECONDS"
    )
    began = time.monotonic()
    with pytest.raises(ManifestkitError):
        reader.read("secret/data/other")   # the same render: the deadline has passed
    assert time.monotonic() - began < 0.5
