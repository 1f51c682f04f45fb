"""Document ids of the BM25 index, by slot and by id, in a few flat arrays.

A million post ids as Python strings with a list and a dict cost ~95 MB; as UTF-8 bytes in one
buffer with an offsets array and a table of their CRC-32s sorted for binary search they cost
~25 MB, and they are saved and loaded as arrays. The CRC only narrows the search: ids are
always compared byte for byte, so collisions cost a comparison, never a wrong answer.

Ids appended since the last `compacted` wait in a small list and dict; removed slots keep
their place (the index's slots never move between merges) until `compacted` drops them.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["DocIds"]

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

_EMPTY_U32: U32 = np.zeros(0, np.uint32)


class DocIds:
    """The id of each slot and the slot of each id; slots are numbered from 0 in order added."""

    def __init__(self, blob: U8, starts: I64, sorted_crcs: U32, order: I32) -> None:
        """``blob[starts[s]:starts[s+1]]`` is slot ``s``'s id; ``order`` lists the slots by
        their CRC-32 (``sorted_crcs``), ties in slot order."""
        self._blob = blob
        self._starts = starts
        self._sorted_crcs = sorted_crcs
        self._order = order
        self._base = len(starts) - 1
        self._added: list[str] = []  # ids of slots base, base + 1, ...
        self._added_slot: dict[str, int] = {}  # live ones only
        self._removed: set[int] = set()

    @classmethod
    def from_ids(cls, ids: Iterable[str]) -> DocIds:
        """A table of distinct ids, in slot order."""
        encoded = [doc_id.encode() for doc_id in ids]
        return cls._from_encoded(np.zeros(0, np.uint8), np.zeros(1, np.int64), _EMPTY_U32, encoded)

    @classmethod
    def _from_encoded(cls, blob: U8, starts: I64, crcs: U32, more: list[bytes]) -> DocIds:
        """``blob``/``starts``/``crcs`` (per slot, in slot order) followed by ``more``."""
        lengths = np.fromiter(map(len, more), np.int64, len(more))
        all_starts = np.concatenate([starts, starts[-1] + np.cumsum(lengths)])
        all_blob = np.concatenate([blob, np.frombuffer(b"".join(more), np.uint8)])
        all_crcs = np.concatenate([crcs, np.fromiter(map(zlib.crc32, more), np.uint32, len(more))])
        order = np.argsort(all_crcs, kind="stable").astype(np.int32)
        return cls(all_blob, all_starts, all_crcs[order], order)

    def arrays(self) -> dict[str, np.ndarray]:
        """The table as arrays, for saving (only a compacted table has nothing else)."""
        assert not self._added and not self._removed, "compact the table before saving it"
        return {
            "id_blob": self._blob,
            "id_starts": self._starts,
            "id_sorted_crcs": self._sorted_crcs,
            "id_order": self._order,
        }

    def consistent(self) -> bool:
        """Whether arrays read from disk fit together: lengths, bounds, sort order, UTF-8 text
        and distinct ids (the CRCs themselves are trusted, as the postings are)."""
        n = self._base
        starts, crcs, order = self._starts, self._sorted_crcs, self._order
        if not (
            len(starts) >= 1
            and len(crcs) == n
            and len(order) == n
            and int(starts[0]) == 0
            and int(starts[-1]) == len(self._blob)
            and bool(np.all(np.diff(starts) >= 0))
            and bool(np.all(crcs[1:] >= crcs[:-1]))
            and np.array_equal(np.sort(order), np.arange(n, dtype=order.dtype))
        ):
            return False
        try:
            self._blob.tobytes().decode()
        except UnicodeDecodeError:
            return False
        # Equal ids have equal CRCs: only runs of equal CRCs need their bytes compared.
        shared = np.flatnonzero(crcs[1:] == crcs[:-1])
        groups: dict[int, set[bytes]] = {}
        for i in np.union1d(shared, shared + 1).tolist():
            s = int(order[i])
            ids = groups.setdefault(int(crcs[i]), set())
            size = len(ids)
            ids.add(self._blob[starts[s] : starts[s + 1]].tobytes())
            if len(ids) == size:
                return False
        return True

    def __len__(self) -> int:
        """Slots, removed ones included."""
        return self._base + len(self._added)

    def slot(self, doc_id: str) -> int | None:
        """The slot of a live id, or None."""
        slot = self._added_slot.get(doc_id)
        if slot is not None:
            return slot
        key = doc_id.encode()
        crc = zlib.crc32(key)
        crcs, order, blob, starts = self._sorted_crcs, self._order, self._blob, self._starts
        i = int(np.searchsorted(crcs, np.uint32(crc)))  # a Python int would copy crcs to int64
        while i < len(crcs) and int(crcs[i]) == crc:
            s = int(order[i])
            lo, hi = int(starts[s]), int(starts[s + 1])
            if hi - lo == len(key) and blob[lo:hi].tobytes() == key and s not in self._removed:
                return s
            i += 1
        return None

    def slots(self, doc_ids: Sequence[str]) -> list[int | None]:
        """`slot` of each id, with one sorted search for them all (the answer path maps its
        60 candidates back to slots for every question)."""
        keys = [d.encode() for d in doc_ids]
        crcs, order, blob, starts = self._sorted_crcs, self._order, self._blob, self._starts
        wanted = np.fromiter((zlib.crc32(k) for k in keys), np.uint32, len(keys))
        firsts = np.searchsorted(crcs, wanted).tolist()
        found: list[int | None] = []
        for doc_id, key, crc, i in zip(doc_ids, keys, wanted.tolist(), firsts, strict=True):
            slot = self._added_slot.get(doc_id)
            while slot is None and i < len(crcs) and int(crcs[i]) == crc:
                s = int(order[i])
                lo, hi = int(starts[s]), int(starts[s + 1])
                if hi - lo == len(key) and blob[lo:hi].tobytes() == key and s not in self._removed:
                    slot = s
                i += 1
            found.append(slot)
        return found

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self.slot(doc_id) is not None

    def doc_id(self, slot: int) -> str | None:
        """The id in a slot, or None once it was removed."""
        if slot in self._removed:
            return None
        if slot >= self._base:
            return self._added[slot - self._base]
        return self._blob[self._starts[slot] : self._starts[slot + 1]].tobytes().decode()

    def append(self, doc_id: str) -> int:
        """Give a new id the next slot (the caller knows it is not live already)."""
        slot = len(self)
        self._added.append(doc_id)
        self._added_slot[doc_id] = slot
        return slot

    def remove(self, doc_id: str) -> int | None:
        """Free a live id's slot (it stays reserved until `compacted`); its slot, or None."""
        slot = self.slot(doc_id)
        if slot is None:
            return None
        self._removed.add(slot)
        self._added_slot.pop(doc_id, None)
        return slot

    def compacted(self) -> DocIds:
        """The live ids in slot order, renumbered from 0, in arrays only."""
        base = self._base
        blob, starts = self._blob, self._starts
        crcs = np.empty(base, np.uint32)
        crcs[self._order] = self._sorted_crcs
        dead = [s for s in self._removed if s < base]
        if dead:
            keep = np.ones(base, bool)
            keep[dead] = False
            lengths = np.diff(starts)
            blob = blob[np.repeat(keep, lengths)]
            starts = np.zeros(int(keep.sum()) + 1, np.int64)
            np.cumsum(lengths[keep], out=starts[1:])
            crcs = crcs[keep]
        more = [
            doc_id.encode()
            for slot, doc_id in enumerate(self._added, start=base)
            if slot not in self._removed
        ]
        return DocIds._from_encoded(blob, starts, crcs, more)

    def memory_bytes(self) -> int:
        arrays = (self._blob, self._starts, self._sorted_crcs, self._order)
        return sum(a.nbytes for a in arrays) + sum(len(d) + 50 for d in self._added) * 2
