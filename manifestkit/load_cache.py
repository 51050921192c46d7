"""App files read through the render cache: a file whose bytes were read and checked before is not parsed again.

Only a file the fast loader reads whole (one document, positions found on demand from the text) and whose data
JSON gives back exactly is stored; the rest are read as always. An entry is keyed by the file's name and bytes and
by manifestkit itself (:func:`~manifestkit.render_inputs.package_stamp`: the loader and the App schema are part of
it), and holds the checked data; its positions are found from the file's text again when a diagnostic needs them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from manifestkit.cache_json import exact_json
from manifestkit.loader import DocReader, checked_documents, read_checked
from manifestkit.render_cache import Pack, keep, key_of, take
from manifestkit.render_inputs import FileDigests, package_stamp
from manifestkit.yamlio import Document, LazyPositions, decode, load_documents

KIND = "docs"


def cached_reader(pack: Pack, digests: FileDigests) -> DocReader:
    """A reader of App files that finds what it read before in ``pack`` and keeps in it what it read (written once
    the render went well); each file's digest goes to ``digests``."""

    def read(path: str, display: str) -> list[Document]:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return read_checked(path, display)    # its own located error
        digest = hashlib.sha256(data).hexdigest()
        digests.seen.setdefault(display, digest)
        key = key_of(KIND, package_stamp(), display, digest)
        text = decode(data, display)
        body = take(pack, key)
        if isinstance(body, dict) and "data" in body:
            return [Document(body["data"], display, LazyPositions(text, display, 0, body["data"]), 0, plain=True)]
        docs = checked_documents(load_documents(text, display))
        if _storable(docs):
            keep(pack, key, {"data": docs[0].data})
        return docs

    return read


def _storable(docs: list[Document]) -> bool:
    one: Any = docs[0].data if len(docs) == 1 else None
    return one is not None and isinstance(docs[0].positions, LazyPositions) and (docs[0].plain or exact_json(one))
