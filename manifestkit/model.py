"""The records that flow through the pipeline. Plain data; no behaviour beyond lookups."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from manifestkit.yamlio import Document

API_VERSION = "manifestkit.dev/v1alpha1"
DEFAULT_ENV = "default"
DEFAULT_KUBE_VERSION = "1.30"
MANAGED_BY = "manifestkit"


class App(NamedTuple):
    """An App spec as written (``doc``) and as merged with overlays (``spec``)."""

    name: str
    namespace: str | None
    spec: Mapping[str, Any]
    doc: Document          # where the App was written, for error positions
    root: Path             # folder of the App file: relative paths start here
    base: tuple[Document, ...] = ()   # the documents of `spec.base`, when given

    @property
    def file(self) -> str:
        return self.doc.file


class Overlay(NamedTuple):
    name: str
    spec: Mapping[str, Any]
    doc: Document
    root: Path


class Environment(NamedTuple):
    name: str
    overlays: tuple[Overlay, ...]   # in application order, `extends` parents first
    namespaces: tuple[str, ...] = ()


class Project(NamedTuple):
    name: str
    root: Path                      # the user's project folder: templates may not read outside it
    spec: Mapping[str, Any]
    apps: tuple[App, ...]
    environments: Mapping[str, Environment]
    file: str = ""
    restricted: bool = True         # every path the project names must stay inside `root` (--load-restrictor)

    @property
    def kube_version(self) -> str:
        return str(self.spec.get("kubernetesVersion", DEFAULT_KUBE_VERSION))

    def env_names(self) -> list[str]:
        return list(self.environments) or [DEFAULT_ENV]


class Resource(NamedTuple):
    """One Kubernetes object in the pipeline and where it came from (never inside it)."""

    obj: Mapping[str, Any]
    app: str | None = None          # the App that produced it
    origin: str = ""                # "file:line" of the spec or base manifest
    doc: Document | None = None     # the base manifest document it was read from, if any
    extra: Mapping[str, Any] = {}   # spec fields that are not Kubernetes fields (e.g. a Secret's `mirror`)

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
        return self._replace(obj=obj)


class Options(NamedTuple):
    """Render options that come from the command line or the library caller."""

    secret_output: str | None = None
    allow_plaintext_secrets: bool = False
    environ: Mapping[str, str] = {}
    validate: bool = True


class EnvSettings(NamedTuple):
    """What an environment's overlays set for every object, beyond the app specs."""

    namespace: str | None = None
    labels: Mapping[str, str] = {}
    annotations: Mapping[str, str] = {}
    pdb: Mapping[str, Any] | None = None      # PodDisruptionBudget spec for replicated workloads
    secret_output: str | None = None
    images: tuple[Mapping[str, str], ...] = ()   # Kustomize-style image rules for every container


class RenderContext(NamedTuple):
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
        return (self.options.secret_output or self.settings.secret_output
                or str(self.project.spec.get("secrets", {}).get("output", "secret")))
