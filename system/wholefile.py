"""Files that appear whole or not at all: written under a temporary name beside the target and
moved onto it with one ``os.replace`` when complete. A reader (or a crash) sees the old file or
the whole new one, never a file cut at a row or a message boundary that looks complete."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def written_whole(path: str | Path) -> Iterator[Path]:
    """The temporary path to write ``path``'s content at (close it inside the block); moved onto
    ``path`` when the block ends cleanly, removed when it raises."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
