"""Kustomize's ``images`` transformer as a pure function: an image reference rewritten by rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def split_image(image: str) -> tuple[str, str, str]:
    """``repo[:tag][@digest]`` → (repo, tag, digest); a port in the registry is not a tag."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:], digest
    return name, "", digest


def rewrite_image(image: str, rules: Sequence[Mapping[str, str]]) -> str:
    """Kustomize's `images` transformer: match by name, change name, tag or digest."""
    repo, tag, digest = split_image(image)
    for rule in rules:
        if rule["name"] != repo:
            continue
        repo = rule.get("newName", repo)
        if "digest" in rule:
            return f"{repo}@{rule['digest']}"
        tag = rule.get("newTag", tag)
        return f"{repo}:{tag}" if tag else (f"{repo}@{digest}" if digest else repo)
    return image
