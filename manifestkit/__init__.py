"""manifestkit: app specs or existing manifests in, complete validated Kubernetes YAML out.

    >>> import manifestkit
    >>> project = manifestkit.load_project("examples/shop")
    >>> objects = manifestkit.render(project, env="dev")
    >>> manifestkit.write(objects, "build/dev")
"""

from __future__ import annotations

__version__ = "0.1.0"

# `manifestkit.validate` is the library function; the module behind it is manifestkit.validation.
from manifestkit.api import load_project, render, validate, write
from manifestkit.diagnostics import Diagnostic, ManifestkitError

__all__ = ["Diagnostic", "ManifestkitError", "__version__", "load_project", "render", "validate", "write"]
