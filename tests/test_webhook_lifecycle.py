"""`manifestkit webhook serve` over its life: a rotated certificate is picked up live, and
SIGTERM during load finishes the requests in flight before the process exits 0."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest

from manifestkit.cli import main
from manifestkit.webhook.certs import make_certificates
from tests.test_webhook_server import (
    DNS_NAME,
    NAMESPACE,
    SERVICE,
    Deployed,
    client_context,
    deploy,
    request,
    review,
    start,
    stop,
)


def replace(path: Path, text: str) -> None:
    """Write as a Secret volume update does: the new file appears whole (a rename), never half-written."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def handshake(port: int, ca_pem: str) -> bool:
    try:
        with client_context(ca_pem).wrap_socket(
            socket.create_connection(("127.0.0.1", port), 2), server_hostname=DNS_NAME
        ):
            return True
    except (ssl.SSLError, ConnectionError):
        return False


def test_rotated_certificate_is_used_without_a_restart(tmp_path: Path) -> None:
    deployed = deploy(tmp_path)
    server = start(deployed, "--reload-interval", "0.2")
    try:
        assert handshake(server.port, deployed.ca_bundle)
        rotated = make_certificates(SERVICE, NAMESPACE, 30)
        replace(deployed.key, rotated.serving.key_pem)       # key first: the server must ride out a mismatched pair
        time.sleep(0.5)
        replace(deployed.cert, rotated.serving.cert_pem)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not handshake(server.port, rotated.ca.cert_pem):
            time.sleep(0.1)
        assert handshake(server.port, rotated.ca.cert_pem)
        assert not handshake(server.port, deployed.ca_bundle)          # the old certificate is gone
        status, data, _ = request(server, rotated.ca.cert_pem, "POST", "/mutate/envoy", json.dumps(review()).encode())
        assert status == 200 and "patch" in json.loads(data)["response"]
        log = server.log(0.1)
        assert "TLS certificate reloaded" in log
        assert "BEGIN" not in log                                     # no key or certificate text in the log
    finally:
        assert stop(server) == 0


def test_sigterm_during_load_finishes_in_flight_requests(tmp_path: Path) -> None:
    deployed: Deployed = deploy(tmp_path)
    server = start(deployed, "--shutdown-timeout", "5", "--body-timeout", "5")
    body = json.dumps(review()).encode()
    results: list[int] = []
    failures: list[str] = []
    stopping = threading.Event()

    def load() -> None:
        for _ in range(200):                                          # bounded
            try:
                results.append(request(server, deployed.ca_bundle, "POST", "/mutate/envoy", body)[0])
            except OSError as exc:                                   # refused once the listener is closed
                if not stopping.is_set():
                    failures.append(repr(exc))
                return

    # One request is in flight for sure: headers and half of its body sent before SIGTERM.
    slow = client_context(deployed.ca_bundle).wrap_socket(socket.create_connection(("127.0.0.1", server.port), 10),
                                                          server_hostname=DNS_NAME)
    slow.sendall(f"POST /mutate/envoy HTTP/1.1\r\nHost: {DNS_NAME}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body[:100])
    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    stopping.set()
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    slow.sendall(body[100:])
    slow.settimeout(10)
    answer = b""
    while chunk := slow.recv(65536):
        answer += chunk
    slow.close()
    for thread in threads:
        thread.join(timeout=15)
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"patchType":"JSONPatch"' in answer.replace(b" ", b"")
    assert failures == [] and results and set(results) == {200}
    assert server.process.wait(timeout=10) == 0
    log = server.log(0.2)
    assert "stopping: finishing in-flight requests" in log and "stopped" in log


@pytest.mark.parametrize("missing", ["--tls-cert", "--tls-key"])
def test_serve_without_its_tls_files_is_exit_2(
    tmp_path: Path, missing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed = deploy(tmp_path)
    files = {"--tls-cert": str(deployed.cert), "--tls-key": str(deployed.key), missing: str(tmp_path / "absent.pem")}
    argv = ["webhook", "serve", "--config", str(Path(__file__).parent / "data" / "webhook" / "webhook-config.yaml"),
            *(a for k, v in files.items() for a in (k, v))]
    capsys.readouterr()
    assert main(argv) == 2
    assert (
        capsys.readouterr().err
        == f"{tmp_path / 'absent.pem'}: error: TLS file not found\n  hint: pass --tls-cert and --tls-key PEM files\n"
    )
