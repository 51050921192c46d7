"""`manifestkit argocd-plugin`: the Argo CD Config Management Plugin: its plugin.yaml, its sidecar, and its generate
step.

Argo CD's repo server runs ``generate`` in the Application's source folder and reads only
Kubernetes objects from stdout; logs go to stderr (argo-cd.readthedocs.io, "Config
Management Plugins"). The environment comes from ``spec.source.plugin.parameters`` (as
``PARAM_ENV``) or ``spec.source.plugin.env`` (as ``ARGOCD_ENV_MANIFESTKIT_ENV``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from manifestkit import __version__
from manifestkit.command import Command
from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.yaml_dump import dump

PLUGIN = "manifestkit"
CONFIG_PATH = "/home/argocd/cmp-server/config/plugin.yaml"
# Where the environment name may come from, first found wins: a plugin parameter, then a plugin env entry.
ENV_SOURCES = ("PARAM_ENV", "ARGOCD_ENV_MANIFESTKIT_ENV")


def plugin_config() -> dict[str, Any]:
    """The ConfigManagementPlugin (argoproj.io/v1alpha1) the sidecar reads at CONFIG_PATH."""
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "ConfigManagementPlugin",
        "metadata": {"name": PLUGIN},
        "spec": {
            "version": f"v{__version__}",
            "generate": {"command": ["manifestkit", "argocd-plugin", "generate"]},
            "discover": {"fileName": "./manifestkit.yaml"},
            "parameters": {"static": [{"name": "env", "title": "manifestkit environment to render (e.g. prod)",
                                       "required": False, "itemType": "string", "collectionType": "string"}]},
        },
    }


def sidecar() -> dict[str, Any]:
    """The container to add to argocd-repo-server, and the ConfigMap holding plugin.yaml."""
    container = {
        "name": PLUGIN, "image": f"ghcr.io/manifestkit/manifestkit:{__version__}",
        "command": ["/var/run/argocd/argocd-cmp-server"],
        "securityContext": {"runAsNonRoot": True, "runAsUser": 999},
        "volumeMounts": [{"name": "var-files", "mountPath": "/var/run/argocd"},
                         {"name": "plugins", "mountPath": "/home/argocd/cmp-server/plugins"},
                         {"name": "manifestkit-plugin", "mountPath": CONFIG_PATH, "subPath": "plugin.yaml"},
                         {"name": "manifestkit-tmp", "mountPath": "/tmp"}],
    }
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "manifestkit-plugin", "namespace": "argocd"},
        "data": {"plugin.yaml": dump(plugin_config())},
    }
    patch = {"spec": {"template": {"spec": {
        "containers": [container],
        "volumes": [{"name": "manifestkit-plugin", "configMap": {"name": "manifestkit-plugin"}},
                    {"name": "manifestkit-tmp", "emptyDir": {}}]}}}}
    return {"configMap": config_map, "repoServerPatch": patch}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=("config", "sidecar", "generate"),
                        help="config: print plugin.yaml; sidecar: print the repo-server sidecar and its ConfigMap; "
                             "generate: what Argo CD runs in the app's folder (YAML stream on stdout)")


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.what == "config":
        sys.stdout.write(dump(plugin_config()))
        return 0
    if args.what == "sidecar":
        parts = sidecar()
        sys.stdout.write(
            "# kubectl -n argocd apply -f - (the ConfigMap); then patch argocd-repo-server with the second document\n"
        )
        sys.stdout.write(dump(parts["configMap"]) + "---\n" + dump(parts["repoServerPatch"]))
        return 0
    return generate(environ)


def generate(environ: Mapping[str, str]) -> int:
    """Render the project in the current folder to stdout, one environment, plain YAML."""
    from manifestkit import cmd_render  # the render machinery is needed only here
    from manifestkit.model import Options

    env = next((environ[name] for name in ENV_SOURCES if environ.get(name)), None)
    projects = cmd_render.load_projects(["."])
    names = sorted(projects[0].environments)
    if env is None and len(names) > 1:
        app = environ.get("ARGOCD_APP_NAME", "the Application")
        raise ManifestkitError(
            [
                Diagnostic(
                    message=f"{app}: the project has environments {', '.join(names)}; expected one chosen",
                    hint=f"set spec.source.plugin.parameters [{{name: env, string: {names[0]}}}] "
                    f"or spec.source.plugin.env [{{name: MANIFESTKIT_ENV, value: {names[0]}}}]",
                )
            ]
        )
    # The repo server reads stdout as the manifests; `manifestkit validate` in CI is where lint findings belong.
    return cmd_render.stream_one(projects, env or (names[0] if names else None), Options(environ=environ), lint=False)


COMMAND = Command("the Argo CD Config Management Plugin: print its plugin.yaml or sidecar, or run its generate step",
                  configure, run)
