"""Where Vault credentials may go and how long Vault may take: trust, client construction, deadline, retries.

- A token from ``VAULT_TOKEN`` or ``~/.vault-token``, and the AppRole secret id or Kubernetes
  service account token, go only to an address the user chose: ``VAULT_ADDR``, an address listed
  in ``MANIFESTKIT_VAULT_ADDRESSES``, or the project's address with ``--trust-vault-address``
  (``MANIFESTKIT_TRUST_VAULT_ADDRESS=1``). A project file alone cannot send them anywhere.
- hvac never picks credentials up by itself: the token is always passed explicitly.
- One deadline per render (``MANIFESTKIT_VAULT_DEADLINE`` seconds, 30 by default) covers every
  request, retry and login; 429 and 5xx are retried with backoff inside it; redirects to another
  origin, redirect loops, non-JSON answers and stalls are short errors (exit 2) that never echo
  the server's text.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from manifestkit.diagnostics import ManifestkitError, error

if TYPE_CHECKING:
    import requests

    from manifestkit.secrets.vault_settings import VaultConfig

T = TypeVar("T")

ALLOW_ENV = "MANIFESTKIT_VAULT_ADDRESSES"
TRUST_ENV = "MANIFESTKIT_TRUST_VAULT_ADDRESS"
DEADLINE_ENV = "MANIFESTKIT_VAULT_DEADLINE"
DEFAULT_DEADLINE = 30.0
MAX_REDIRECTS = 3


def _origin(address: str) -> str:
    parts = urlsplit(address.strip())
    return f"{parts.scheme.lower()}://{(parts.netloc or parts.path).lower().rstrip('/')}"


def address_trusted(address: str, from_project: bool, environ: Mapping[str, str]) -> bool:
    """May credentials from this machine go to ``address``? Yes unless only the project file named it."""
    if not from_project or environ.get(TRUST_ENV, "") not in ("", "0", "false"):
        return True
    allowed = {_origin(a) for a in environ.get(ALLOW_ENV, "").split(",") if a.strip()}
    return _origin(address) in allowed


def deadline_of(environ: Mapping[str, str]) -> float:
    """Seconds one render may spend on Vault."""
    text = environ.get(DEADLINE_ENV, "")
    try:
        seconds = float(text) if text else DEFAULT_DEADLINE
    except ValueError:
        raise error(f"{DEADLINE_ENV}={text!r}: expected a number of seconds") from None
    return seconds if seconds > 0 else DEFAULT_DEADLINE


def home_token(home: str | None) -> str | None:
    """The Vault CLI's token file ``$HOME/.vault-token``; read only for the token auth method."""
    if not home:
        return None
    try:
        return (Path(home) / ".vault-token").read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def untrusted(address: str) -> ManifestkitError:
    return error(
        f"Vault address {address!r} comes from the project's spec.secrets.vault.address, which may not choose "
        f"where this machine's Vault credentials go",
        hint=f"set VAULT_ADDR, list the address in {ALLOW_ENV}, or pass --trust-vault-address",
    )


def make_client(config: VaultConfig, session: requests.Session | None, token: str | None) -> Any:
    """An hvac client for ``config`` that sends ``token`` (or none) and follows same-origin redirects only."""
    import hvac
    import requests

    session = session or requests.Session()
    session.max_redirects = MAX_REDIRECTS
    origin = _origin(config.address)

    def same_origin(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        location = response.headers.get("Location")
        if response.is_redirect and location and urlsplit(location).netloc and _origin(location) != origin:
            raise error(f"Vault at {config.address} redirected to another server; refusing to follow",
                        hint="set VAULT_ADDR to the server that answers (the active node)")

    session.hooks["response"] = [*session.hooks.get("response", []), same_origin]
    return hvac.Client(
        url=config.address,
        token=token or "",  # never None: hvac would read VAULT_TOKEN and ~/.vault-token by itself
        namespace=config.namespace,
        verify=config.cacert or True,
        timeout=config.timeout,
        session=session,
    )


class Deadline:
    """The time left for Vault in one render, started by the first request."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end: float | None = None

    def left(self) -> float:
        if self._end is None:
            self._end = time.monotonic() + self.seconds
        return self._end - time.monotonic()


def retrying(config: VaultConfig, deadline: Deadline, request: Callable[[], T]) -> T:
    """``request()`` within the render's deadline, retried with backoff on connection errors, 429 and 5xx."""
    import hvac.exceptions
    import requests

    transient = (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                 hvac.exceptions.InternalServerError, hvac.exceptions.BadGateway, hvac.exceptions.VaultDown,
                 hvac.exceptions.RateLimitExceeded, hvac.exceptions.VaultNotInitialized)
    attempts = config.retries + 1
    for attempt in range(attempts):
        try:
            return _answer(config, _within(config, deadline, request))
        except requests.exceptions.SSLError:
            raise error(
                f"TLS verification failed for Vault at {config.address}",
                hint="set VAULT_CACERT or spec.secrets.vault.cacert to the CA bundle that signed the server",
            ) from None
        except transient as exc:
            pause = config.backoff * 2**attempt
            if attempt + 1 < attempts and deadline.left() > pause:
                time.sleep(pause)
                continue
            if isinstance(exc, hvac.exceptions.VaultError):
                raise error(
                    f"Vault at {config.address} answered {describe(exc)} {attempt + 1} times",
                    hint="check the server's health (sealed? overloaded?) and try again",
                ) from None
            raise error(
                f"Vault at {config.address} is unreachable after {attempt + 1} attempts ({describe(exc)})",
                hint="check VAULT_ADDR or spec.secrets.vault.address and that the server is up",
            ) from None
        except requests.exceptions.TooManyRedirects:
            raise error(f"Vault at {config.address} redirected more than {MAX_REDIRECTS} times",
                        hint="check VAULT_ADDR or spec.secrets.vault.address") from None
        except (requests.exceptions.RequestException, ValueError) as exc:
            raise error(f"Vault at {config.address}: the request failed ({type(exc).__name__})",
                        hint="check VAULT_ADDR or spec.secrets.vault.address") from None
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _within(config: VaultConfig, deadline: Deadline, request: Callable[[], T]) -> T:
    """``request()`` in a worker thread, abandoned when the render's Vault deadline passes."""
    left = deadline.left()
    if left <= 0:
        raise _late(config, deadline)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = request()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="manifestkit-vault", daemon=True)
    worker.start()
    worker.join(left)
    if worker.is_alive():
        raise _late(config, deadline)
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def _late(config: VaultConfig, deadline: Deadline) -> ManifestkitError:
    return error(f"Vault at {config.address} did not answer within {deadline.seconds:g} s",
                 hint=f"check the server, or allow more time with {DEADLINE_ENV}=SECONDS")


def _answer(config: VaultConfig, value: T) -> T:
    """hvac hands back the raw response when a 2xx answer is not JSON (an HTML page, a proxy's error)."""
    import requests

    if isinstance(value, requests.Response) and value.status_code != 204:
        raise error(f"Vault at {config.address} answered HTTP {value.status_code} with a body that is not JSON",
                    hint="check that VAULT_ADDR points at Vault itself, not a proxy or login page")
    return None if isinstance(value, requests.Response) else value  # type: ignore[return-value]


_STATUS = {"InvalidRequest": "400 bad request", "Unauthorized": "401 unauthorized", "Forbidden": "403 forbidden",
           "InvalidPath": "404 not found", "PreconditionFailed": "412 precondition failed",
           "RateLimitExceeded": "429 too many requests", "InternalServerError": "500 server error",
           "VaultNotInitialized": "501 not initialized", "BadGateway": "502 bad gateway",
           "VaultDown": "503 unavailable (sealed or standby)"}


def describe(exc: BaseException) -> str:
    """A short description that never repeats what the server wrote (it may be HTML, or long, or hostile)."""
    import requests

    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed"
    return _STATUS.get(type(exc).__name__, f"an error ({type(exc).__name__})")


def server_words(exc: BaseException) -> str:
    """The server's own short, plain explanation (``invalid role or secret ID``), else :func:`describe`."""
    errors = getattr(exc, "errors", None) or []
    text = ", ".join(str(e) for e in errors) if isinstance(errors, list) else ""
    if text and len(text) <= 100 and text.isprintable() and not any(c in text for c in "<>{}"):
        return text
    return describe(exc)
