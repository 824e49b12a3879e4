"""The committed sample day verifies, and the simulator regenerates it byte for byte."""

from __future__ import annotations

from pathlib import Path

from chronex.cli import main
from system.clock import FixedClock
from system.eventlog import open_log, verify

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "xtks-7203-open.db"
REGENERATE = [
    "sim", "--venue", "XTKS", "--date", "2027-01-04", "--instruments", "7203", "--seed", "1",
    "--from", "08:59", "--until", "09:04", "--quiet",
]  # fmt: skip


def _head(path: Path) -> tuple[int, bytes]:
    store = open_log(path, FixedClock(0), create=False)
    try:
        v = verify(store)
        assert v.ok, v
        return v.count, v.head_hash
    finally:
        store.close()


def test_sample_is_small_and_verifies() -> None:
    """The sample is under 1 MB and its hash chain verifies."""
    assert SAMPLE.stat().st_size < 1_000_000
    count, _ = _head(SAMPLE)
    assert count > 1000


def test_regenerating_the_sample_gives_the_same_head_hash(tmp_path: Path) -> None:
    """The command in data/sample/README.md rewrites the sample with the same head hash; if this
    fails after a deliberate change to the simulator or the engine, regenerate the sample."""
    out = tmp_path / "again.db"
    assert main([*REGENERATE, "--log", str(out)]) == 0
    assert _head(out) == _head(SAMPLE)
