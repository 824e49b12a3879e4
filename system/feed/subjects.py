"""NATS subjects for log streams: one subject per stream kind, so a consumer filters by wildcard.

    book/XTKS:7203      -> chronex.XTKS.book.7203        (chronex.*.book.> : every book)
    account/ACC-1       -> chronex.account.ACC-1
    venue/XTKS          -> chronex.venue.XTKS
    input/account/ACC-1 -> chronex.input.account.ACC-1
    run                 -> chronex.run

Characters NATS gives a meaning to in a token (``.``, ``*``, ``>``, spaces) become ``_``.
"""

from __future__ import annotations

import re

_BAD = re.compile(r"[.*>\s]")


def token(text: str) -> str:
    return _BAD.sub("_", text) or "_"


def subject_for(stream: str, root: str = "chronex") -> str:
    kind, _, rest = stream.partition("/")
    if kind == "book" and ":" in rest:
        venue, _, symbol = rest.partition(":")
        return f"{root}.{token(venue)}.book.{token(symbol)}"
    parts = [token(p) for p in stream.split("/")]
    return ".".join([root, *parts])
