"""An App's ConfigMaps (inline data, files read from the project, Jinja2 templates) and Secrets."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from manifestkit.build_meta import metadata
from manifestkit.diagnostics import Diagnostic, ManifestkitError, display_path, gather
from manifestkit.model import App, RenderContext
from manifestkit.templating import describe_error, render_file


def config_maps(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """One ConfigMap per `configMaps:` entry; every unreadable file or broken template is reported together."""
    entries = [(name, cm) for name, cm in (app.spec.get("configMaps") or {}).items() if cm is not None]
    return gather(entries, lambda entry: [_config_map(app, ctx, labels, *entry)])


def _config_map(
    app: App, ctx: RenderContext, labels: Mapping[str, str], name: str, cm: Mapping[str, Any]
) -> dict[str, Any]:
    data = {k: _string(v) for k, v in (cm.get("data") or {}).items() if v is not None}
    binary = dict(cm.get("binaryData") or {})
    files = [(key, source) for key, source in (cm.get("files") or {}).items() if source is not None]
    read = gather(
        files,
        lambda file: [(file[0], _file_content(app, ctx, file[1], ("spec", "configMaps", name, "files", file[0])))],
    )
    for key, content in read:
        if isinstance(content, bytes):
            binary[key] = base64.b64encode(content).decode()
        else:
            data[key] = content
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(name, app, ctx, {**labels, **cm.get("labels", {})}, cm.get("annotations")),
    }
    if "immutable" in cm:
        obj["immutable"] = cm["immutable"]
    if data:
        obj["data"] = data
    if binary:
        obj["binaryData"] = binary
    return obj


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _file_content(app: App, ctx: RenderContext, source: Any, at: tuple[str | int, ...]) -> str | bytes:
    """A ConfigMap file: read from disk, rendered from a Jinja2 template, or given inline."""
    kind, value = ("file", source) if isinstance(source, str) else next(iter(source.items()))
    if kind == "content":
        return str(value)
    path = (app.root / value)
    root = ctx.project.root
    if not _inside(root, path):
        raise ManifestkitError([app.doc.diagnostic(at, f"{value!r} is outside the project folder {display_path(root)}/",
                                      hint="keep config files and templates inside the project")])
    if not path.is_file():
        raise ManifestkitError(
            [
                app.doc.diagnostic(
                    at, f"{kind} {value!r} not found", hint=f"the path is relative to {display_path(app.root)}/"
                )
            ]
        )
    if kind == "file":
        raw = path.read_bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    context = {"values": app.spec.get("values", {}), "app": {"name": app.name, "namespace": app.namespace},
               "env": ctx.env, "project": {"name": ctx.project.name}}
    try:
        return render_file(root, path.resolve().relative_to(root.resolve()).as_posix(), context)
    except Exception as exc:
        message, line = describe_error(exc)
        used_at = app.doc.position(at)[0]
        hint = ("save the template as UTF-8" if isinstance(exc, UnicodeDecodeError)
                else "template variables are `values`, `app`, `env` and `project`")
        raise ManifestkitError(
            [
                Diagnostic(
                    message=f"{message} (used by {app.file}:{used_at})", file=display_path(path), line=line, hint=hint
                )
            ]
        ) from None


def secrets(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> list[tuple[dict[str, Any], Mapping[str, Any]]]:
    """One Secret per `secrets:` entry, with the entry's `mirror`/`output` kept beside it for the secrets step."""
    out: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
    for name, secret in (app.spec.get("secrets") or {}).items():
        if secret is None:
            continue
        obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret",
                               "metadata": metadata(name, app, ctx, {**labels, **secret.get("labels", {})},
                                                    secret.get("annotations")),
                               "type": secret.get("type", "Opaque")}
        if "immutable" in secret:
            obj["immutable"] = secret["immutable"]
        if secret.get("data"):
            obj["data"] = dict(secret["data"])
        if secret.get("stringData"):
            obj["stringData"] = {k: _string(v) for k, v in secret["stringData"].items() if v is not None}
        side = {
            field: secret[key] for key, field in (("mirror", "mirror"), ("output", "secret_output")) if key in secret
        }
        out.append((obj, side))
    return out
