"""The server's TLS context, reloaded in place when the certificate or key files change
(cert-manager rotates them), so new handshakes use the new pair without a restart."""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("manifestkit.webhook")

Stamp = tuple[tuple[int, int, int], ...]


def _stamp(*paths: Path) -> Stamp:
    """What tells a changed file: inode (a Secret volume swaps a symlink), mtime and size."""
    out = []
    for path in paths:
        info = os.stat(path)
        out.append((info.st_ino, info.st_mtime_ns, info.st_size))
    return tuple(out)


@dataclass(slots=True, kw_only=True)
class ReloadingContext:
    """An SSLContext plus the stamp of the files it was last loaded from."""

    cert: Path
    key: Path
    context: ssl.SSLContext = field(init=False)
    stamp: Stamp = ()

    def __post_init__(self) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.stamp = _stamp(self.cert, self.key)
        self.context.load_cert_chain(self.cert, self.key)

    def reload_if_changed(self) -> bool:
        """Load the pair again when either file changed; a half-written pair keeps the old one until the next check."""
        try:
            stamp = _stamp(self.cert, self.key)
            if stamp == self.stamp:
                return False
            self.context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            log.warning("TLS certificate not reloaded (keeping the current one): %s", exc)
            return False
        self.stamp = stamp
        log.info("TLS certificate reloaded from %s", self.cert)
        return True
