"""The runtime's command-id table behaves as a plain dict of id -> (first seq, last seq), whichever
storage an id lands in (the generated ids' array, or the index of an explicit id), and its
snapshot restores the same table."""

from __future__ import annotations

import gc

from hypothesis import given, settings
from hypothesis import strategies as st

from system.runtime.commandseqs import CommandSeqs

ids = st.one_of(
    st.integers(1, 12).map(lambda n: f"cmd-{n}"),  # generated ids, with gaps and repeats
    st.sampled_from(["L0/a", "L0/b", "L1/a", "cmd-x", "cmd-", "other-3", "cmd-007"]),
)
seqs = st.tuples(st.integers(-1, 10**6), st.integers(-1, 10**6))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(ids, seqs), max_size=40), st.lists(ids, max_size=10))
def test_the_table_is_a_dict_of_ids(writes: list[tuple[str, tuple[int, int]]], probes: list[str]) -> None:
    table = CommandSeqs("cmd")
    model: dict[str, tuple[int, int]] = {}
    for cid, pair in writes:
        table[cid] = pair
        model[cid] = pair
    for cid in [*model, *probes]:
        assert table.get(cid) == model.get(cid)
        assert (cid in table) == (cid in model)
    assert len(table) == len(model)
    assert dict(table.items()) == model
    again = CommandSeqs("cmd")
    again.restore(table.state())
    assert dict(again.items()) == model


def test_an_explicit_id_costs_the_collector_nothing() -> None:
    """A served order's id maps to an int index, not a (first, last) tuple the collector walks."""
    table = CommandSeqs("cmd")
    table.remember("L0/order-1", 0, 10, 11)
    table.remember("L0/order-1", 0, 10, 12)  # its last seq grows (a batch flushed, a catch-up)
    assert table.get("L0/order-1") == (10, 12)
    assert not any(gc.is_tracked(v) for v in table._by_id.values())
