"""The index's id table: every id finds its slot and every slot its id, through appends,
removals, re-additions, CRC collisions and compaction (which renumbers like a merge)."""

from __future__ import annotations

import random
import zlib

import numpy as np
import pytest

from retrieval.index.doc_ids import DocIds

# Two different ids with the same CRC-32: lookups must compare bytes, not trust the CRC.
COLLIDING = ("plumless", "buckeroo")


def test_the_colliding_pair_really_collides() -> None:
    assert zlib.crc32(COLLIDING[0].encode()) == zlib.crc32(COLLIDING[1].encode())


def test_ids_and_slots_round_trip_including_non_ascii_and_colliding_ids() -> None:
    ids = ["post-1", "Київ-2", *COLLIDING, "", "a" * 300]
    table = DocIds.from_ids(ids)
    assert len(table) == len(ids)
    for slot, doc_id in enumerate(ids):
        assert table.slot(doc_id) == slot
        assert table.doc_id(slot) == doc_id
        assert doc_id in table
    assert table.slot("post-3") is None
    assert table.slots([*reversed(ids), "post-3"]) == [*reversed(range(len(ids))), None]
    assert "plumles" not in table
    assert table.consistent()


def test_removed_ids_disappear_and_may_come_back_in_a_new_slot() -> None:
    table = DocIds.from_ids(["a", "b", COLLIDING[0]])
    assert table.remove(COLLIDING[1]) is None  # same CRC as a live id, but absent
    assert table.remove(COLLIDING[0]) == 2
    assert table.slot(COLLIDING[0]) is None and table.doc_id(2) is None
    assert table.append(COLLIDING[0]) == 3
    assert table.slot(COLLIDING[0]) == 3
    assert table.append("c") == 4
    assert table.remove("c") == 4
    assert table.remove("c") is None
    assert "c" not in table and table.doc_id(4) is None
    assert len(table) == 5  # slots stay reserved until compaction


def test_compaction_drops_removed_slots_and_renumbers_in_order() -> None:
    table = DocIds.from_ids(["a", "b", "c", "d"])
    table.remove("b")
    table.append("e")
    table.append("b")  # back, after "e"
    table.remove("e")
    table.append("f")
    compacted = table.compacted()
    assert [compacted.doc_id(s) for s in range(len(compacted))] == ["a", "c", "d", "b", "f"]
    assert [compacted.slot(d) for d in ["a", "c", "d", "b", "f", "e"]] == [0, 1, 2, 3, 4, None]
    assert compacted.consistent()
    saved = compacted.arrays()
    reloaded = DocIds(
        saved["id_blob"], saved["id_starts"], saved["id_sorted_crcs"], saved["id_order"]
    )
    assert [reloaded.doc_id(s) for s in range(5)] == ["a", "c", "d", "b", "f"]


def test_a_table_with_pending_changes_cannot_be_saved_as_arrays() -> None:
    table = DocIds.from_ids(["a"])
    table.append("b")
    with pytest.raises(AssertionError):
        table.arrays()


def test_random_operations_agree_with_a_list_and_a_dict() -> None:
    rng = random.Random(3)
    names = [f"id-{i}" for i in range(300)] + list(COLLIDING)
    table = DocIds.from_ids([])
    slots: list[str | None] = []  # what each slot should hold
    for step in range(3000):
        name = rng.choice(names)
        live = name in slots
        if rng.random() < 0.6:
            if not live:
                assert table.append(name) == len(slots)
                slots.append(name)
        else:
            expected = slots.index(name) if live else None
            assert table.remove(name) == expected
            if expected is not None:
                slots[expected] = None
        if step % 500 == 499:
            table = table.compacted()
            slots = [s for s in slots if s is not None]
        assert len(table) == len(slots)
        if step % 100 == 0:  # the bulk lookup of the answer path, through every kind of change
            assert table.slots(names) == [slots.index(n) if n in slots else None for n in names]
    for slot, name in enumerate(slots):
        assert table.doc_id(slot) == name
    for name in names:
        assert table.slot(name) == (slots.index(name) if name in slots else None)


def _arrays(ids: list[str]) -> dict[str, np.ndarray]:
    return DocIds.from_ids(ids).arrays()


@pytest.mark.parametrize(
    "damage",
    [
        lambda a: a.update(id_blob=a["id_blob"][:-1]),  # truncated text
        lambda a: a.update(id_order=np.zeros_like(a["id_order"])),  # not a permutation
        lambda a: a.update(id_sorted_crcs=a["id_sorted_crcs"][::-1].copy()),  # not sorted
        lambda a: a.update(id_blob=np.frombuffer(b"\xff" + a["id_blob"][1:].tobytes(), np.uint8)),
    ],
)
def test_damaged_arrays_are_not_consistent(damage: object) -> None:
    arrays = _arrays(["alpha", "beta", "gamma", "delta"])
    assert callable(damage)
    damage(arrays)
    table = DocIds(
        arrays["id_blob"], arrays["id_starts"], arrays["id_sorted_crcs"], arrays["id_order"]
    )
    assert not table.consistent()


def test_a_repeated_id_is_not_consistent() -> None:
    assert not DocIds.from_ids(["x", "y", "x"]).consistent()
    assert DocIds.from_ids(list(COLLIDING)).consistent()
