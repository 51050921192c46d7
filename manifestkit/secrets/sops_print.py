"""What ``sops -d`` prints for a decrypted value: numbers as Go's yaml.v3 or encoding/json format them, per file format.

sops keeps a value's type in its ``ENC[...,type:...]`` envelope and prints the decrypted
tree with the input format's Go encoder: YAML (yaml.v3) formats a float64 with
``strconv.FormatFloat(f, 'g', -1, 64)`` (``1e+20``, ``.inf``), JSON (encoding/json) with
``'f'`` unless the magnitude is below 1e-6 or from 1e21 on (``100000000000000000000``,
``1e-7``). JSON numbers are all float64 in sops, so ``5432`` stays ``5432``, never ``5432.0``.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from manifestkit.redact import SecretStr


def _digits(value: float) -> tuple[str, int]:
    """Shortest round-trip digits of ``abs(value)`` and the decimal point position (Go's ``digs.dp``)."""
    sign_digits_exp = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, sign_digits_exp.digits))
    exponent = int(sign_digits_exp.exponent)
    return digits, len(digits) + exponent


def _e_format(value: float) -> str:
    digits, point = _digits(value)
    mantissa = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
    exp = point - 1
    return f"{'-' if value < 0 else ''}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _f_format(value: float) -> str:
    return format(Decimal(repr(value)).normalize(), "f") if value else ("-0" if math.copysign(1, value) < 0 else "0")


def yaml_float(value: float) -> str:
    """yaml.v3's float64: ``strconv.FormatFloat(f, 'g', -1, 64)``, with ``.inf``, ``-.inf``, ``.nan``."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    if value == 0:
        return _f_format(value)
    exp = _digits(value)[1] - 1
    return _e_format(value) if exp < -4 or exp >= 6 else _f_format(value)


def json_float(value: float) -> str:
    """encoding/json's float64: ``'f'`` formatting, ``'e'`` below 1e-6 or from 1e21 (``e-07`` shortened to ``e-7``)."""
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if value == 0 or 1e-6 <= abs(value) < 1e21:
        return _f_format(value)
    text = _e_format(value)
    return text[:-2] + text[-1] if text[-4:-1] == "e-0" else text   # e-07 -> e-7, as encoding/json cleans it


FLOATS = {"yaml": yaml_float, "json": json_float}


def _scalar(value: Any, fmt: str) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return FLOATS.get(fmt, json_float)(value)
    return str.__str__(value)


def _json(node: Any, fmt: str) -> str:
    """JSON with sorted keys, as ``json.dumps(sort_keys=True)`` writes it, numbers as sops prints them."""
    if isinstance(node, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_json(node[k], fmt)}" for k in sorted(node)) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(_json(item, fmt) for item in node) + "]"
    if isinstance(node, str):
        return json.dumps(str.__str__(node))
    return _scalar(node, fmt)


def printed(value: Any, fmt: str) -> SecretStr:
    """A looked-up value as a Secret holds it: a scalar as ``sops -d --extract`` prints it, a map or list as JSON."""
    if isinstance(value, (dict, list)):
        return SecretStr(_json(value, fmt))
    return SecretStr(_scalar(value, fmt))
