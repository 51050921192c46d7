"""Reading a WebhookConfig file: schema-checked like every manifestkit file kind, then each
rule's patterns looked up and their `with:` checked, every problem located and reported together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean
from manifestkit.filekinds import check_document
from manifestkit.model import DEFAULT_KUBE_VERSION
from manifestkit.patterns.engine import NATIVE_SINCE, PatternProblems, Use, checked_params, lookup
from manifestkit.patterns.model import Pattern
from manifestkit.webhook.targets import MUTABLE_KINDS
from manifestkit.yamlio import Document, load_documents, load_file

KIND = "WebhookConfig"
ANNOTATION = "manifestkit.dev/inject"     # per-pod opt-in (pattern names, or "true") / opt-out ("false")
ALWAYS_EXCLUDED = ("kube-system",)        # plus the webhook's own namespace: it must never block itself


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """Which objects get which patterns; the API server applies ``namespace_selector``, the webhook the rest."""

    name: str
    namespace_selector: Mapping[str, Any]
    object_selector: Mapping[str, Any]
    kinds: tuple[str, ...]
    uses: tuple[Use, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookConfig:
    name: str
    kube_version: str
    on_conflict: str                       # deny | warn
    failure_policy: str
    timeout_seconds: int
    reinvocation_policy: str
    exclude_namespaces: tuple[str, ...]
    rules: tuple[Rule, ...]
    registry: Mapping[str, Pattern]
    data: Mapping[str, Any]                # the document as written, shipped in the ConfigMap


def load_config(path: str, registry: Mapping[str, Pattern], display: str | None = None) -> WebhookConfig:
    """The WebhookConfig in ``path``; a ManifestkitError with every located problem otherwise."""
    return config_of(load_file(path, display), registry, display or path)


def parse_config(text: str, file: str, registry: Mapping[str, Pattern]) -> WebhookConfig:
    return config_of(load_documents(text, file), registry, file)


def config_of(docs: list[Document], registry: Mapping[str, Pattern], file: str) -> WebhookConfig:
    if len(docs) != 1:
        raise ManifestkitError(
            [Diagnostic(message=f"found {len(docs)} documents; expected one WebhookConfig", file=file)]
        )
    doc = docs[0]
    problems = check_document(doc, (KIND,))
    if problems:
        raise ManifestkitError(problems)
    spec = doc.data["spec"]
    kube_version = str(spec.get("kubernetesVersion", DEFAULT_KUBE_VERSION))
    rules: list[Rule] = []
    for index, raw in enumerate(spec["rules"]):
        rule, found = _rule(doc, index, raw, kube_version, registry)
        rules.append(rule)
        problems.extend(found)
    problems.extend(_unique_names(doc, rules))
    if problems:
        raise ManifestkitError(problems)
    return WebhookConfig(name=doc.data["metadata"]["name"], kube_version=kube_version,
                         on_conflict=spec.get("onConflict", "deny"), failure_policy=spec.get("failurePolicy", "Ignore"),
                         timeout_seconds=int(spec.get("timeoutSeconds", 5)),
                         reinvocation_policy=spec.get("reinvocationPolicy", "IfNeeded"),
                         exclude_namespaces=tuple(spec.get("excludeNamespaces", ())), rules=tuple(rules),
                         registry=registry, data=doc.data)


def _rule(doc: Document, index: int, raw: Mapping[str, Any], kube_version: str,
          registry: Mapping[str, Pattern]) -> tuple[Rule, list[Diagnostic]]:
    where = ("spec", "rules", index)
    problems: list[Diagnostic] = []
    kinds = tuple(raw.get("kinds", ("Pod",)))
    known = list(MUTABLE_KINDS)
    for k, kind in enumerate(kinds):
        if kind not in MUTABLE_KINDS:
            problems.append(
                doc.diagnostic(
                    (*where, "kinds", k),
                    f"found kind {kind!r}; expected one of: {', '.join(known)}",
                    hint=did_you_mean(kind, known),
                )
            )
    uses: list[Use] = []
    for p, entry in enumerate(raw["patterns"]):
        at = (*where, "patterns", p)
        try:
            pattern = lookup(entry["use"], registry)
            checked_params(pattern, entry.get("with"))
        except PatternProblems as exc:
            problems.extend(doc.diagnostic((*at, *x.path), x.message, hint=x.hint) for x in exc.problems)
            continue
        native = _native(entry.get("native", False), pattern, kube_version)
        if native and not pattern.long_running:
            problems.append(doc.diagnostic((*at, "native"), f"{pattern.name} runs to completion before the app; "
                                           "native applies only to long-running helpers"))
        elif native and _version(kube_version) < NATIVE_SINCE:
            problems.append(doc.diagnostic((*at, "native"), f"native sidecars need Kubernetes 1.29 or newer; "
                                           f"spec.kubernetesVersion is {kube_version}",
                                           hint='set spec.kubernetesVersion to "1.29" or newer, or use native: auto'))
        # Only the values written go into the Use, as `inject --pattern` passes them; the engine fills in defaults.
        uses.append(Use(pattern.name, dict(entry.get("with") or {}), native, entry.get("name")))
    rule = Rule(name=raw.get("name", f"rule-{index}"), namespace_selector=raw.get("namespaceSelector") or {},
                object_selector=raw.get("objectSelector") or {}, kinds=kinds, uses=tuple(uses))
    return rule, problems


def _native(value: bool | str, pattern: Pattern, kube_version: str) -> bool:
    if value == "auto":
        return pattern.long_running and _version(kube_version) >= NATIVE_SINCE
    return bool(value)


def _version(kube_version: str) -> tuple[int, int]:
    major, _, minor = kube_version.lstrip("v").partition(".")
    return int(major), int(minor.split(".")[0] or 0)


def _unique_names(doc: Document, rules: list[Rule]) -> list[Diagnostic]:
    seen: dict[str, int] = {}
    problems = []
    for index, rule in enumerate(rules):
        if rule.name in seen:
            problems.append(
                doc.diagnostic(
                    ("spec", "rules", index, "name"),
                    f"rule name {rule.name!r} is used twice; first by spec.rules[{seen[rule.name]}]",
                    hint="give each rule its own name",
                )
            )
        seen.setdefault(rule.name, index)
    return problems
