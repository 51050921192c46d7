"""`manifestkit webhook serve|manifests`: the pattern registry as a mutating admission webhook,
and everything that runs it in a cluster."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping
from pathlib import Path

from manifestkit.command import Command
from manifestkit.diagnostics import Diagnostic, ManifestkitError, display_path
from manifestkit.patterns.user import registry
from manifestkit.webhook.certs import make_certificates, reusable
from manifestkit.webhook.config import WebhookConfig, load_config
from manifestkit.webhook.manifests import CERT_MODES, Layout, dockerfile, manifests, objects_by_file
from manifestkit.yaml_dump import dump, dump_all
from manifestkit.yamlio import load_file

HELP = "serve the patterns as a mutating admission webhook, or write the manifests that run it"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="webhook_command", metavar="SUBCOMMAND", required=True)
    serve = sub.add_parser("serve", help="HTTPS server: POST /mutate, GET /healthz, /readyz, /metrics")
    _common(serve)
    serve.add_argument(
        "--tls-cert",
        required=True,
        type=Path,
        metavar="FILE",
        help="serving certificate (PEM), reloaded when it changes",
    )
    serve.add_argument("--tls-key", required=True, type=Path, metavar="FILE", help="its private key (PEM)")
    serve.add_argument("--address", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=8443, help="port (default 8443; 0 picks a free one)")
    serve.add_argument("--namespace", default=None, metavar="NS",
                       help="the webhook's own namespace, never mutated (default: $POD_NAMESPACE)")
    serve.add_argument("--max-body", type=int, default=3 * 1024 * 1024, metavar="BYTES", help="larger bodies get a 413")
    serve.add_argument("--body-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="a client slower than this to send its body gets a 408 (default 10)")
    serve.add_argument("--shutdown-timeout", type=float, default=20.0, metavar="SECONDS",
                       help="after SIGTERM, how long in-flight requests may take (default 20)")
    serve.add_argument("--reload-interval", type=float, default=1.0, metavar="SECONDS",
                       help="how often the certificate files are checked for a change (default 1)")
    out = sub.add_parser(
        "manifests", help="Deployment, PDB, Service, config, certificates, MutatingWebhookConfiguration"
    )
    _common(out)
    out.add_argument(
        "--namespace", default="manifestkit", metavar="NS", help="where the webhook runs (default manifestkit)"
    )
    out.add_argument("--name", default="manifestkit-webhook", help="name of its Deployment and Service")
    out.add_argument("--image", default=None, help="server image (default manifestkit/webhook:<version>)")
    out.add_argument(
        "--certs",
        choices=CERT_MODES,
        default="self-signed",
        help="self-signed: made now with a CA in caBundle; cert-manager: Issuer + Certificate, CA injected",
    )
    out.add_argument("--days", type=int, default=365, help="validity of self-signed certificates (default 365)")
    out.add_argument("-o", "--output", default="-", metavar="DIR",
                     help="folder for one file per object plus the Dockerfile; - prints the objects (default)")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, metavar="FILE", help="the WebhookConfig file")
    parser.add_argument("--patterns-dir", default="patterns", metavar="DIR",
                        help="folder of your own YAML patterns (default: ./patterns, when it exists)")


def _config(args: argparse.Namespace) -> WebhookConfig:
    path = Path(args.config)
    if not path.is_file():
        raise ManifestkitError([Diagnostic(message="the WebhookConfig file is not found", file=display_path(path),
                                           hint="pass --config FILE with kind: WebhookConfig")])
    return load_config(str(path), registry(Path(args.patterns_dir)), display_path(path))


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    config = _config(args)
    if args.webhook_command == "serve":
        return _serve(args, config, environ)
    return _manifests(args, config)


def _serve(args: argparse.Namespace, config: WebhookConfig, environ: Mapping[str, str]) -> int:
    try:
        from manifestkit.webhook.server import ServeOptions  # aiohttp loads only for `serve`
        from manifestkit.webhook.server import run as serve
    except ModuleNotFoundError as exc:
        raise ManifestkitError([Diagnostic(message=f"`webhook serve` needs {exc.name}, which is not installed",
                                           hint="pip install 'manifestkit[webhook]'")]) from None
    missing = [str(p) for p in (args.tls_cert, args.tls_key) if not p.is_file()]
    if missing:
        raise ManifestkitError(
            [
                Diagnostic(message="TLS file not found", file=m, hint="pass --tls-cert and --tls-key PEM files")
                for m in missing
            ]
        )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("manifestkit webhook: %(levelname)s: %(message)s"))
    logger = logging.getLogger("manifestkit.webhook")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    options = ServeOptions(
        cert=args.tls_cert,
        key=args.tls_key,
        address=args.address,
        port=args.port,
        namespace=args.namespace if args.namespace is not None else environ.get("POD_NAMESPACE", ""),
        max_body=args.max_body,
        body_timeout=args.body_timeout,
        shutdown_timeout=args.shutdown_timeout,
        reload_interval=args.reload_interval,
    )
    return serve(config, options)


def _manifests(args: argparse.Namespace, config: WebhookConfig) -> int:
    layout = Layout(name=args.name, namespace=args.namespace, certs=args.certs,
                    **({"image": args.image} if args.image else {}))
    certificates = None
    if args.certs == "self-signed":
        earlier = _earlier_secret(Path(args.output), layout) if args.output != "-" else None
        certificates = (reusable(earlier, layout.name, layout.namespace) if earlier else None) or \
            make_certificates(layout.name, layout.namespace, args.days)
    objects = manifests(config, layout, certificates)
    if args.output == "-":
        sys.stdout.write(dump_all(objects))
        return 0
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    for name, obj in objects_by_file(objects).items():
        path = folder / name
        path.write_text(dump(obj), encoding="utf-8")
        if obj["kind"] == "Secret":
            path.chmod(0o600)   # it holds the serving key
    (folder / "Dockerfile").write_text(dockerfile(), encoding="utf-8")
    print(f"wrote {len(objects)} manifests and a Dockerfile to {display_path(folder)}/", file=sys.stderr)
    return 0


def _earlier_secret(folder: Path, layout: Layout) -> Mapping[str, str] | None:
    """The TLS Secret an earlier run wrote to ``folder``, if any: re-running keeps its certificates."""
    for path in sorted(folder.glob(f"*-secret-{layout.name}-tls.yaml")):
        docs = load_file(str(path))
        data = docs[0].data if docs and isinstance(docs[0].data, dict) else {}
        string_data = data.get("stringData")
        if data.get("kind") == "Secret" and isinstance(string_data, dict):
            return {str(k): str(v) for k, v in string_data.items()}
    return None


COMMAND = Command(HELP, configure, run)
