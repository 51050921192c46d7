"""Load on `manifestkit webhook serve` from this machine over loopback (issue 12 point 6).

Starts the real server (certificates from `webhook manifests`), then for each step sends the
seed's demoapp AdmissionReview, verified over TLS against the caBundle, for --seconds:
paced steps at a fixed rate (open loop: latency counts from the scheduled send time), then a
closed-loop step at --concurrency to find the ceiling. Prints requests/s, p50, p99, errors and
the server's CPU per request (from /proc/PID/stat). Bounded in count and time; loopback only.

    python bench/bench_webhook.py --seconds 30 --rates 100,200,300,400 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "tests" / "data" / "webhook" / "webhook-config.yaml"
REVIEW = ROOT / "tests" / "data" / "webhook" / "demoapp-review.json"
DNS_NAME = "manifestkit-webhook.manifestkit.svc"
MAX_IN_FLIGHT = 256


def server_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime + stime


def prepare(folder: Path) -> tuple[Path, Path, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "manifestkit", "webhook", "manifests", "--config", str(CONFIG)],
                         check=True, capture_output=True, text=True, env=env).stdout
    docs = list(yaml.safe_load_all(out))
    secret = next(d for d in docs if d["kind"] == "Secret")["stringData"]
    mwc = next(d for d in docs if d["kind"] == "MutatingWebhookConfiguration")
    (folder / "tls.crt").write_text(secret["tls.crt"])
    (folder / "tls.key").write_text(secret["tls.key"])
    return (
        folder / "tls.crt",
        folder / "tls.key",
        base64.b64decode(mwc["webhooks"][0]["clientConfig"]["caBundle"]).decode(),
    )


def start(cert: Path, key: Path, log: Path) -> tuple[subprocess.Popen[str], int]:
    """The server logs one line per request, as in production: to a file, so no pipe ever fills."""
    with open(log, "w") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "manifestkit",
                "webhook",
                "serve",
                "--config",
                str(CONFIG),
                "--tls-cert",
                str(cert),
                "--tls-key",
                str(key),
                "--address",
                "127.0.0.1",
                "--port",
                "0",
            ],
            stderr=sink,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        found = re.search(r"on https://127\.0\.0\.1:(\d+)", log.read_text())
        if found:
            return process, int(found.group(1))
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the server did not start: {log.read_text()}")


class Step:
    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: list[float] = []
        self.errors = 0


async def one(session: aiohttp.ClientSession, url: str, body: bytes, step: Step, scheduled: float) -> None:
    try:
        async with session.post(url, data=body, headers={"Content-Type": "application/json", "Host": DNS_NAME},
                                server_hostname=DNS_NAME, timeout=aiohttp.ClientTimeout(total=10)) as response:
            data = await response.read()
            ok = response.status == 200 and b'"patchType": "JSONPatch"' in data
    except (aiohttp.ClientError, TimeoutError):
        ok = False
    step.latencies.append(time.perf_counter() - scheduled)
    step.errors += 0 if ok else 1


async def paced(session: aiohttp.ClientSession, url: str, body: bytes, rate: int, seconds: float) -> Step:
    step = Step(f"{rate}/s")
    limit = asyncio.Semaphore(MAX_IN_FLIGHT)
    tasks = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        await limit.acquire()
        task = asyncio.create_task(one(session, url, body, step, scheduled))
        task.add_done_callback(lambda _: limit.release())
        tasks.append(task)
    await asyncio.gather(*tasks)
    return step


async def closed(session: aiohttp.ClientSession, url: str, body: bytes, concurrency: int, seconds: float) -> Step:
    step = Step(f"closed x{concurrency}")
    end = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < end:
            await one(session, url, body, step, time.perf_counter())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return step


def report(step: Step, elapsed: float, cpu: float) -> str:
    done = sorted(step.latencies)
    p50 = statistics.median(done) * 1000
    p99 = done[min(len(done) - 1, int(len(done) * 0.99))] * 1000
    return (f"{step.name:>12}  {len(done) / elapsed:8.1f} req/s  p50 {p50:6.2f} ms  p99 {p99:7.2f} ms  "
            f"errors {step.errors:5d}  server CPU {cpu / max(1, len(done)) * 1000:5.2f} ms/req")


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cert, key, ca = prepare(Path(tmp))
        process, port = start(cert, key, Path(tmp) / "server.log")
        context = ssl.create_default_context(cadata=ca)
        url = f"https://127.0.0.1:{port}/mutate/envoy"
        body = REVIEW.read_bytes()
        print(
            f"server pid {process.pid} on 127.0.0.1:{port}; {args.seconds:g} s per step; {os.cpu_count()} cores",
            flush=True,
        )
        try:
            connector = aiohttp.TCPConnector(ssl=context, limit=MAX_IN_FLIGHT)
            async with aiohttp.ClientSession(connector=connector) as session:
                await one(session, url, body, Step("warm-up"), time.perf_counter())
                steps = [("rate", r) for r in args.rates] + [("closed", args.concurrency)]
                for mode, value in steps:
                    cpu0, t0 = server_cpu_seconds(process.pid), time.perf_counter()
                    step = await (paced if mode == "rate" else closed)(session, url, body, value, args.seconds)
                    elapsed, cpu = time.perf_counter() - t0, server_cpu_seconds(process.pid) - cpu0
                    print(report(step, elapsed, cpu), flush=True)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each step (default 30)")
    parser.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], default=[100, 200, 300, 400],
                        help="paced steps, requests per second (default 100,200,300,400)")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop step: requests in flight (default 16)")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
