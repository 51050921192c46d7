"""manifestkit: app specs or existing manifests in, complete validated Kubernetes YAML out.

    >>> import manifestkit
    >>> project = manifestkit.load_project("examples/shop")
    >>> objects = manifestkit.render(project, env="dev")
    >>> manifestkit.write(objects, "build/dev")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError

__version__ = "0.1.0"

if TYPE_CHECKING:
    # `manifestkit.validate` is the library function; the module behind it is manifestkit.validation.
    from manifestkit.api import load_project, render, validate, write

_API = frozenset({"load_project", "render", "validate", "write"})


def __getattr__(name: str) -> Any:
    """The API functions, imported on first use so `manifestkit --version` (and `import manifestkit.x`) stays fast."""
    if name in _API:
        from manifestkit import api
        return getattr(api, name)
    raise AttributeError(f"module 'manifestkit' has no attribute {name!r}")


__all__ = ["Diagnostic", "ManifestkitError", "__version__", "load_project", "render", "validate", "write"]
