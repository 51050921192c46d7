"""One admission request, pure: the AdmissionReview body in, the HTTP status, the response
review and a log line (never the body: pods carry env values) out."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from manifestkit.base_shape import base_shape_problems
from manifestkit.webhook.config import Rule, WebhookConfig
from manifestkit.webhook.mutate import Outcome, mutate
from manifestkit.yamlio import Document

API_VERSION = "admission.k8s.io/v1"
KIND = "AdmissionReview"
MUTATED_OPERATIONS = ("CREATE", "UPDATE")
# A running pod's containers cannot change: pods are mutated on CREATE only, workloads' templates on both.
POD_OPERATIONS = ("CREATE",)
MAX_WARNING = 256     # the API server truncates longer warnings; keep each one line and short


class Reply(NamedTuple):
    """What the server sends back and what it records about it."""

    status: int                         # HTTP status: 200 for every well-formed review
    body: Mapping[str, Any]
    log: str
    result: str = "error"               # patched | unchanged | denied | error (metrics label)
    patterns: tuple[str, ...] = ()


MALFORMED = "is not a well-formed Kubernetes object"


class BadReview(Exception):
    """The body is not an AdmissionReview v1 request."""


def handle(config: WebhookConfig, body: bytes, rules: Sequence[Rule], own_namespace: str = "") -> Reply:
    """Answer one POST /mutate body; a malformed body is a 400 reply, never an exception."""
    try:
        request = parse(body)
    except BadReview as exc:
        return Reply(400, {"error": str(exc)}, f"rejected a malformed request: {exc}")
    where = _where(request)
    obj = request.get("object")
    operations = POD_OPERATIONS if isinstance(obj, Mapping) and obj.get("kind") == "Pod" else MUTATED_OPERATIONS
    if request.get("operation") not in operations or not isinstance(obj, Mapping):
        return Reply(
            200, respond(request["uid"], Outcome([])), f"{where}: not mutated ({request.get('operation')})", "unchanged"
        )
    malformed = Reply(400, {"error": f"request.object {MALFORMED}"},
                      f"{where}: rejected a malformed request: request.object {MALFORMED}")
    if base_shape_problems(Document(obj, "request.object", {})):   # the shape inject itself requires
        return malformed
    try:
        namespace = request.get("namespace") or _mapping(obj.get("metadata")).get("namespace") or ""
        outcome = mutate(config, obj, str(namespace), rules, own_namespace)
    except (AttributeError, TypeError, KeyError, ValueError):
        # The API server sends typed, decoded objects; anything else is a malformed request, not a bug to crash on.
        return malformed
    result = "denied" if outcome.denied else "patched" if outcome.patch else "unchanged"
    detail = f"{result} {','.join(outcome.patterns)}" if outcome.patch else result
    dry = " (dry run)" if request.get("dryRun") else ""
    return Reply(200, respond(request["uid"], outcome), f"{where}: {detail}{dry}", result, outcome.patterns)


def parse(body: bytes) -> Mapping[str, Any]:
    """The `request` of an AdmissionReview v1, or BadReview saying what is wrong."""
    try:
        review = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadReview("the body is not JSON") from None
    if not isinstance(review, dict):
        raise BadReview("the body is not a JSON object")
    if review.get("apiVersion") != API_VERSION or review.get("kind") != KIND:
        raise BadReview(f"found apiVersion {review.get('apiVersion')!r}, kind {review.get('kind')!r}; "
                        f"expected {API_VERSION} {KIND}")
    request = review.get("request")
    if not isinstance(request, dict):
        raise BadReview("the review has no request")
    if not isinstance(request.get("uid"), str) or not request["uid"]:
        raise BadReview("the request has no uid")
    obj = request.get("object")
    if obj is not None and not isinstance(obj, dict):
        raise BadReview("request.object is not an object")
    return request


def respond(uid: str, outcome: Outcome) -> dict[str, Any]:
    """An AdmissionReview v1 response (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#response)."""
    response: dict[str, Any] = {"uid": uid, "allowed": not outcome.denied}
    if outcome.denied:
        response["status"] = {"code": 403, "reason": "Forbidden", "message": outcome.denied}
    elif outcome.patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(outcome.patch, separators=(",", ":")).encode()).decode()
    if outcome.warnings:
        response["warnings"] = [_one_line(w) for w in outcome.warnings]
    return {"apiVersion": API_VERSION, "kind": KIND, "response": response}


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_WARNING else flat[:MAX_WARNING - 3] + "..."


def _where(request: Mapping[str, Any]) -> str:
    """uid, operation, kind and namespace/name of a request: what a log line may say about it."""
    kind = _mapping(request.get("kind"))
    obj = _mapping(request.get("object"))
    meta = _mapping(obj.get("metadata"))
    name = request.get("name") or meta.get("name") or f"{meta.get('generateName', '')}*"
    return f"{request['uid']} {request.get('operation')} {kind.get('kind', '?')} {request.get('namespace', '')}/{name}"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
