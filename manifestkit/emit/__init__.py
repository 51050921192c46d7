"""Emitters: rendered objects → files. Pure functions over data; only the writer touches the disk."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from manifestkit.model import Project, Resource
from manifestkit.writer import OutFile

BASE = ""                                         # the version name of the base render (no overlays)
SecretKey = tuple[str, str | None, str, str]      # (version, app, namespace, name) of a sops Secret
DumpKey = tuple[str, str, str, str]               # (env, kind, namespace, name) of an object


@dataclass(frozen=True, slots=True, kw_only=True)
class Memo:
    """An app's files as an earlier render emitted them (the render cache keeps them), found by a digest of everything
    the emitter read of the app; only for ``apps``, those whose objects hold no resolved secret value."""

    apps: frozenset[str]
    find: Callable[[str], Mapping[str, OutFile] | None]
    keep: Callable[[str, Mapping[str, OutFile]], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class EmitInput:
    """Everything an emitter reads, computed once by the render plan (no emitter renders,
    reads a key or decrypts)."""

    project: Project
    renders: Mapping[str, list[Resource]]                   # env name → objects of that env
    base: Sequence[Resource] = ()                           # the render with no overlays (formats that need it)
    image_rules: Mapping[str, Sequence[Mapping[str, str]]] = field(default_factory=dict)   # env → overlay `images`
    hmac_key: bytes | None = None                           # spec.checksums.hmacKeyEnv's key, when set
    opened: Mapping[SecretKey, Mapping[str, Any]] = field(default_factory=dict)   # sops Secrets, decrypted
    dumped: Mapping[DumpKey, bytes] = field(default_factory=dict)   # objects' plain files kept from the render cache
    memo: Memo | None = None                                # apps' files kept from an earlier render


@dataclass(frozen=True, slots=True, kw_only=True)
class Emitted:
    """The files of an output, and the folders it owns."""

    files: dict[str, OutFile]
    scope: Sequence[str]      # the folders (relative) this output owns: stale files there are removed
    to_seal: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)   # path → values the caller sops-encrypts


Emitter = Callable[[EmitInput], Emitted]


@dataclass(frozen=True, slots=True, kw_only=True)
class Format:
    """One ``--format``: its emitter and what the render plan computes for it."""

    emit: Emitter
    needs_base: bool = False          # reads EmitInput.base
    needs_hmac_key: bool = False      # reads EmitInput.hmac_key
    opens_sops: bool = False          # reads EmitInput.opened (and may return Emitted.to_seal)

