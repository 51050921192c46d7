"""sops values: ``ENC[AES256_GCM,data:..,iv:..,tag:..,type:..]`` sealed and opened (aes/cipher.go),
the MAC's byte form of a value, and the metadata rules saying which values are sealed.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from manifestkit.diagnostics import one_of
from manifestkit.redact import SecretStr
from manifestkit.secrets.sops_tree import fail

ENC_VALUE = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")
_RULE_KEYS = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex")
_COMMENT_RULE_KEYS = ("unencrypted_comment_regex", "encrypted_comment_regex")


class BadValue(Exception):
    """A value that does not open; ``tampered`` when the GCM tag failed."""

    def __init__(self, reason: str, tampered: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tampered = tampered


def text_of(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _parse_bool(raw: bytes) -> bool:
    text = raw.decode()
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError("not a boolean")


_DECODERS: dict[str, Callable[[bytes], Any]] = {
    "str": text_of, "bytes": text_of, "comment": text_of,
    "int": lambda raw: int(raw.decode()), "int64": lambda raw: int(raw.decode()),
    "float": lambda raw: float(raw.decode()), "bool": _parse_bool,
}


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def open_value(value: Any, key: bytes, additional: str) -> Any:
    """The plaintext of one ``ENC[...]`` value, typed as its ``type:`` says, or :class:`BadValue`."""
    if value == "":
        return ""  # sops leaves empty strings as they are
    if not isinstance(value, str):
        raise BadValue(f"expected an encrypted value, found {type(value).__name__}")
    match = ENC_VALUE.match(value)
    if match is None:
        raise BadValue("malformed encrypted value: expected ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]")
    try:
        data, iv, tag = (_b64(part) for part in match.groups()[:3])
        raw = AESGCM(key).decrypt(iv, data + tag, additional.encode())
    except binascii.Error:
        raise BadValue("malformed encrypted value: data, iv or tag is not base64") from None
    except InvalidTag:
        raise BadValue("cannot decrypt the value: authentication failed", tampered=True) from None
    except ValueError:
        raise BadValue("malformed encrypted value: bad iv length") from None
    decode = _DECODERS.get(match.group(4))
    if decode is None:
        raise BadValue(
            f"malformed encrypted value: unknown type {match.group(4)!r}; expected one of: {one_of(_DECODERS)}"
        )
    try:
        return decode(raw)
    except ValueError:
        raise BadValue(f"malformed encrypted value: not a valid {match.group(4)}") from None


def go_float(value: float) -> str:
    """Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return format(Decimal(repr(value)).normalize(), "f")


def to_bytes(value: Any) -> bytes:
    """A plaintext value as sops feeds it to the MAC (ToBytes)."""
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return go_float(value).encode()
    if isinstance(value, bytes):
        return value
    return str.__str__(value).encode("utf-8", "surrogateescape")


def seal_value(value: str | int | float | bool, key: bytes, additional: str) -> str:
    """``value`` as sops writes it: a fresh 32-byte IV, the type, bools as True/False (aes/cipher.go)."""
    if value == "" and isinstance(value, str):
        return ""
    kind, text = ("bool", "True" if value else "False") if isinstance(value, bool) else (
        ("int", str(value)) if isinstance(value, int) else
        ("float", go_float(value)) if isinstance(value, float) else ("str", str.__str__(value)))
    iv = os.urandom(32)
    sealed = AESGCM(key).encrypt(iv, text.encode("utf-8", "surrogateescape"), additional.encode())
    parts = (base64.b64encode(p).decode() for p in (sealed[:-16], iv, sealed[-16:]))
    return "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]".format(*parts, kind)


def additional_data(path: Sequence[str]) -> str:
    return ":".join(path) + ":"


# ---------------------------------------------------------------- which values are encrypted

Rule = Callable[[Sequence[str], Any], bool]


def _unencrypted_suffix(arg: str) -> Rule:
    return lambda path, _value: not any(p.endswith(arg) for p in path)


def _encrypted_suffix(arg: str) -> Rule:
    return lambda path, _value: any(p.endswith(arg) for p in path)


def _unencrypted_regex(arg: str) -> Rule:
    pattern = re.compile(arg)
    return lambda path, _value: not any(pattern.search(p) for p in path)


def _encrypted_regex(arg: str) -> Rule:
    pattern = re.compile(arg)
    return lambda path, _value: any(pattern.search(p) for p in path)


def _by_shape(_arg: str) -> Rule:
    # Comment regexes depend on YAML comments, which are not kept; the value's shape decides instead.
    return lambda _path, value: isinstance(value, str) and ENC_VALUE.match(value) is not None


RULES: dict[str, Callable[[str], Rule]] = {
    "unencrypted_suffix": _unencrypted_suffix, "encrypted_suffix": _encrypted_suffix,
    "unencrypted_regex": _unencrypted_regex, "encrypted_regex": _encrypted_regex, "comment_regex": _by_shape,
}


def rule_of(raw: Mapping[str, Any], file: str) -> Rule:
    """Which key paths hold sealed values, from the metadata (default: not under ``*_unencrypted``)."""
    chosen = [k for k in _RULE_KEYS if raw.get(k)]
    if any(raw.get(k) for k in _COMMENT_RULE_KEYS):
        chosen = ["comment_regex"]
    if len(chosen) > 1:
        raise fail(f"the sops metadata sets {', '.join(chosen)}; sops allows only one of them", file)
    name = chosen[0] if chosen else "unencrypted_suffix"
    try:
        return RULES[name](str(raw.get(name) or "_unencrypted"))
    except re.error as exc:
        raise fail(f"invalid {name} in the sops metadata: {exc}", file) from None



def plain_value(value: Any) -> Any:
    """A decrypted leaf as callers get it: strings (and bytes) become SecretStr."""
    if isinstance(value, bytes):
        value = text_of(value)
    return SecretStr(value) if isinstance(value, str) else value
