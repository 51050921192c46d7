"""The HTTPS admission server on aiohttp: POST /mutate[/RULE], GET /healthz, /readyz and
/metrics; TLS reloaded live, graceful shutdown on SIGTERM that finishes in-flight requests."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from manifestkit.webhook.config import Rule, WebhookConfig
from manifestkit.webhook.metrics import Metrics, new_metrics
from manifestkit.webhook.review import Reply, handle
from manifestkit.webhook.tls import ReloadingContext

log = logging.getLogger("manifestkit.webhook")
ALL_RULES = "*"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeOptions:
    cert: Path
    key: Path
    address: str = "0.0.0.0"
    port: int = 8443
    namespace: str = ""                  # the webhook's own namespace: never mutated
    max_body: int = 3 * 1024 * 1024      # etcd's object limit is 1.5 MiB; a review carries the object (and an old one)
    body_timeout: float = 10.0           # a client slower than this to send its body gets a 408
    reload_interval: float = 1.0         # how often the certificate files are checked
    shutdown_timeout: float = 20.0       # in-flight requests get this long after SIGTERM


@dataclass(slots=True)
class State:
    ready: bool = False
    in_flight: int = 0                   # POSTs whose headers have arrived and that are not answered yet


def rule_sets(config: WebhookConfig) -> dict[str, tuple[Rule, ...]]:
    """The rules each path serves: /mutate all of them, /mutate/NAME one (the MutatingWebhookConfiguration uses
    these)."""
    return {ALL_RULES: config.rules, **{rule.name: (rule,) for rule in config.rules}}


def build_app(config: WebhookConfig, options: ServeOptions, metrics: Metrics, state: State) -> web.Application:
    rules = rule_sets(config)

    async def mutate(request: web.Request) -> web.Response:
        name = request.match_info.get("rule", ALL_RULES)
        start = time.perf_counter()
        if name not in rules:
            metrics.errors.labels("unknown_rule").inc()
            log.warning("rejected a request for unknown rule %r", name)
            return web.json_response(
                {"error": f"unknown rule {name!r}; expected one of: {', '.join(r.name for r in config.rules)}"},
                status=404,
            )
        state.in_flight += 1
        try:
            reply = await _answer(request, config, rules[name], options, metrics)
        finally:
            state.in_flight -= 1
        metrics.latency.labels(name).observe(time.perf_counter() - start)
        metrics.requests.labels(name, reply.result).inc()
        for pattern in reply.patterns:
            metrics.patches.labels(pattern).inc()
        log.info("%s (%.1f ms)", reply.log, (time.perf_counter() - start) * 1000)
        response = web.json_response(reply.body, status=reply.status)
        if not state.ready:
            response.force_close()       # shutting down: no further request on this connection
        return response

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(request: web.Request) -> web.Response:
        return web.Response(text="ready\n") if state.ready else web.Response(text="shutting down\n", status=503)

    async def metrics_page(request: web.Request) -> web.Response:
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    app = web.Application(client_max_size=options.max_body)
    app.add_routes([web.post("/mutate", mutate), web.post("/mutate/{rule}", mutate), web.get("/healthz", healthz),
                    web.get("/readyz", readyz), web.get("/metrics", metrics_page)])
    return app


async def _answer(request: web.Request, config: WebhookConfig, rules: tuple[Rule, ...], options: ServeOptions,
                  metrics: Metrics) -> Reply:
    """The reply for one POST; what a client did wrong is a 4xx and a log line, a bug a 500: never a crash."""
    try:
        body = await asyncio.wait_for(request.read(), options.body_timeout)
    except web.HTTPRequestEntityTooLarge:
        return _refused(metrics, 413, "too_large", f"the body is larger than {options.max_body} bytes")
    except TimeoutError:
        return _refused(metrics, 408, "slow_client", f"the body did not arrive within {options.body_timeout:g} s")
    try:
        reply = handle(config, body, rules, options.namespace)
    except Exception:
        log.exception("internal error while answering a review (body not logged)")
        return _refused(metrics, 500, "internal", "internal error; see the webhook's log")
    if reply.status >= 400:
        metrics.errors.labels("bad_request").inc()
    return reply


def _refused(metrics: Metrics, status: int, reason: str, message: str) -> Reply:
    metrics.errors.labels(reason).inc()
    return Reply(status, {"error": message}, f"rejected a request: {message}", "error")


async def serve(config: WebhookConfig, options: ServeOptions,
                on_ready: Callable[[str, int], Awaitable[None] | None] | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then stop accepting, finish what is in flight and return."""
    tls = ReloadingContext(cert=options.cert, key=options.key)
    state = State()
    runner = web.AppRunner(build_app(config, options, new_metrics(), state), access_log=None,
                           shutdown_timeout=options.shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, options.address, options.port, ssl_context=tls.context,
                       shutdown_timeout=options.shutdown_timeout)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    host, port = _bound(runner.addresses, options)
    state.ready = True
    log.info("serving %d rule(s) of %s on https://%s:%d", len(config.rules), config.name, host, port)
    if on_ready is not None:
        result = on_ready(host, port)
        if result is not None:
            await result
    watcher = asyncio.create_task(_watch_certificates(tls, options.reload_interval, stop))
    await stop.wait()
    state.ready = False
    log.info("stopping: finishing in-flight requests (up to %g s)", options.shutdown_timeout)
    await watcher
    await site.stop()                    # no new connections
    await _drain(state, options.shutdown_timeout)
    await runner.cleanup()
    log.info("stopped")


async def _drain(state: State, timeout: float) -> None:
    """Wait for the requests in flight. aiohttp's own shutdown stops reading their sockets, so a
    request whose body is still arriving would time out: wait here first, while they still read."""
    deadline = time.monotonic() + timeout
    while state.in_flight and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


def _bound(addresses: list[object], options: ServeOptions) -> tuple[str, int]:
    """The address and port actually bound (``--port 0`` picks a free one)."""
    for address in addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return str(address[0]), int(address[1])
    return options.address, options.port


async def _watch_certificates(tls: ReloadingContext, interval: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            tls.reload_if_changed()


def run(config: WebhookConfig, options: ServeOptions) -> int:
    """Serve in this process until SIGTERM; exit code 0."""
    asyncio.run(serve(config, options))
    return 0
