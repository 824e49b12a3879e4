"""Checking where a read command is told to write, before it reads anything: a file whose
folder exists and that is not itself a folder, or a folder that is not a file. Each problem is
bad input named in one line (exit 2), never a traceback after minutes of work."""

from __future__ import annotations

from pathlib import Path

from chronex.errors import BadInput


def output_file(text: str, what: str = "--out") -> Path:
    """The file ``text`` names, if one can be written there."""
    p = Path(text)
    if p.is_dir():
        raise BadInput(f"{what} {text}: is a folder (give a file name)")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise BadInput(f"{what} {text}: the folder {parent} does not exist")
    if not parent.is_dir():
        raise BadInput(f"{what} {text}: {parent} is a file, not a folder")
    return p


def not_a_database(p: Path, what: str = "--out") -> None:
    """Refuse to write a report or a feed file over a database (an event log, most likely): those
    files are only ever replaced by the commands that own them, with --overwrite."""
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError:
        return  # nothing there (or unreadable: the write itself will say so)
    if head == b"SQLite format 3\x00":
        raise BadInput(f"{what} {p}: is a database (an event log?), not overwritten")


def output_dir(text: str, what: str = "DIR") -> Path:
    """The folder ``text`` names (created later if missing), if it is not a file."""
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise BadInput(f"{what} {text}: is a file, not a folder")
    for up in p.parents:
        if up.exists():
            if not up.is_dir():
                raise BadInput(f"{what} {text}: {up} is a file, not a folder")
            break
    return p


def cannot_write(path: Path | str, e: OSError, what: str) -> BadInput:
    """The one-line error for a write the system refused (permissions, a full disk)."""
    return BadInput(f"{what} {path}: cannot write ({e.strerror or e})")
