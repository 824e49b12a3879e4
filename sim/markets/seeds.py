"""Deterministic random streams: one ``random.Random`` per agent, derived from the run seed.

Seeds are derived with sha256 of "<run seed>/<stream name>", never with ``hash()`` (which varies
with PYTHONHASHSEED), so a stream depends only on the run seed and its name: adding an agent does
not change the others' streams.
"""

from __future__ import annotations

import hashlib
from random import Random


def derive_seed(seed: int, name: str) -> int:
    """A 64-bit seed for the stream ``name`` of run ``seed``."""
    digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def stream(seed: int, name: str) -> Random:
    """The seeded generator of stream ``name`` in run ``seed``."""
    return Random(derive_seed(seed, name))
