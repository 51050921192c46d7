"""The records that flow through the pipeline. Plain data; no behaviour beyond lookups."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manifestkit.diagnostics import Diagnostic
from manifestkit.yamlio import Document, format_path

API_VERSION = "manifestkit.dev/v1alpha1"
DEFAULT_ENV = "default"
DEFAULT_KUBE_VERSION = "1.30"
MANAGED_BY = "manifestkit"


@dataclass(frozen=True, slots=True, kw_only=True)
class App:
    """An App spec as written (``doc``) and as merged with overlays (``spec``)."""

    name: str
    namespace: str | None
    spec: Mapping[str, Any]
    doc: Document          # where the App was written, for error positions
    root: Path             # folder of the App file: relative paths start here
    base: tuple[Document, ...] = ()   # the documents of `spec.base`, when given
    objects: tuple[Document, ...] = ()   # the documents of the file entries of `spec.objects`

    @property
    def file(self) -> str:
        return self.doc.file


@dataclass(frozen=True, slots=True, kw_only=True)
class Overlay:
    name: str
    spec: Mapping[str, Any]
    doc: Document
    root: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Environment:
    name: str
    overlays: tuple[Overlay, ...]   # in application order, `extends` parents first
    namespaces: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True, weakref_slot=True)
class Project:
    name: str
    root: Path                      # the user's project folder: templates may not read outside it
    spec: Mapping[str, Any]
    apps: tuple[App, ...]
    environments: Mapping[str, Environment]
    file: str = ""
    restricted: bool = True         # every path the project names must stay inside `root` (--load-restrictor)
    resources: tuple[Document, ...] = ()   # the documents of the file entries of `spec.resources`
    doc: Document | None = None  # the manifestkit.yaml document, for positions
    schemas: tuple[
        Path, ...
    ] = ()  # `spec.schemas`, resolved: CRD and JSON Schema files or folders for custom resources

    @property
    def kube_version(self) -> str:
        return str(self.spec.get("kubernetesVersion", DEFAULT_KUBE_VERSION))

    def env_names(self) -> list[str]:
        return list(self.environments) or [DEFAULT_ENV]


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """Where a resource was written: file and line, and the base manifest document it was read from, if any."""

    file: str = ""
    line: int = 0
    document: Document | None = None

    def diagnostic(self, path: Sequence[str | int], message: str, *, hint: str = "", **more: Any) -> Diagnostic:
        """Located at ``path`` in the document when there is one, else at file:line."""
        if self.document is not None:
            return self.document.diagnostic(path, message, hint=hint, **more)
        return Diagnostic(message=message, file=self.file, line=self.line, path=format_path(path), hint=hint, **more)

    def derived(self) -> Source:
        """For an object made beside this one (a generated Secret, a pattern's ConfigMap): the
        same file and line, no document, since the new object's paths are not in it."""
        return Source(file=self.file, line=self.line)


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """One Kubernetes object in the pipeline and where it came from (never inside it)."""

    obj: Mapping[str, Any]
    app: str | None = None          # the App that produced it
    source: Source = Source()       # the App spec's or base manifest's file, line and document
    # Side data of a Secret, beside the object: its `secrets:` entry's settings (used up by the
    # secrets step) and what its output mode found (read by the checksum step and by render).
    mirror: Mapping[str, Any] | None = None   # the entry's `mirror:`
    secret_output: str | None = None  # the entry's `output:`
    secret_version: str | None = None  # a version of its values (Vault KV version, sops MAC), if every one has one
    resolved: bool = False                    # it holds plaintext values resolved from refs (see secrets.hygiene)

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.obj.get("metadata", {}).get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.obj.get("metadata", {}).get("namespace") or "")

    def ref(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name}"

    def replace_obj(self, obj: Mapping[str, Any]) -> Resource:
        return dataclasses.replace(self, obj=obj)


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """Render options that come from the command line or the library caller."""

    secret_output: str | None = None
    allow_plaintext_secrets: bool = False
    environ: Mapping[str, str] = field(default_factory=dict)
    validate: bool = True
    schemas: tuple[str, ...] = ()       # `render --schemas DIR`: CRDs and JSON Schemas for custom resources
    skip_kinds: tuple[str, ...] = ()    # `render --skip-kinds`: kinds accepted without a schema


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvSettings:
    """What an environment's overlays set for every object, beyond the app specs."""

    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    pdb: Mapping[str, Any] | None = None      # PodDisruptionBudget spec for replicated workloads
    secret_output: str | None = None
    images: tuple[Mapping[str, str], ...] = ()   # Kustomize-style image rules for every container
    patches: tuple[tuple[Overlay, int], ...] = ()  # the overlays' `patches:` entries (overlay, index), in order


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderContext:
    """What every step may read: the project, the environment and the merged apps."""

    project: Project
    env: str
    apps: Mapping[str, App]         # after overlays
    options: Options
    settings: EnvSettings = EnvSettings()

    @property
    def kube_version(self) -> str:
        return self.project.kube_version

    def secret_output(self) -> str:
        """`--secret-output` wins, then the environment's overlays, then the Project."""
        chosen = (self.options.secret_output or self.settings.secret_output
                  or self.project.spec.get("secrets", {}).get("output", "secret"))
        return chosen if isinstance(chosen, str) else str(chosen)   # the value itself: explain follows it to its file
