"""What a snapshot keeps in memory per object: compact pending entries and index, ids-only child pages.

The bounds are allocated bytes (tracemalloc), which do not depend on the machine's load: the structures
they replaced (hex strings and tuples) took about twice as much and fail them.
"""

from __future__ import annotations

import hashlib
import random
import tracemalloc
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from entrasnap.collect.engine import Collector, _take
from entrasnap.graph import BatchResult
from entrasnap.store import LocalBackend, Repository
from entrasnap.store.codec import PLAIN
from entrasnap.store.index import INDEX_PREFIX, Index, index_bytes, write_index
from entrasnap.store.writer import PendingEntries

N = 5000


def _retained_per_item(build: Callable[[int], Any]) -> float:
    """Bytes still allocated per item after ``build(N)`` returned (what it keeps, not what it made)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build(N)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return (after - before) / N


def _hash(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def test_pending_entries_keep_about_half_of_what_tuples_of_strings_took() -> None:
    ids = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(N)]  # the collector's id strings

    def build(n: int) -> PendingEntries:
        pending = PendingEntries()
        for i in range(n):
            pending.put(ids[i], _hash(i), f"User number {i}")  # hash and name are made per object
        return pending

    assert _retained_per_item(build) < 160  # about 100; (hex str, name str) tuples took about 250


def test_pending_entries_drain_in_id_order_with_names_as_given_and_the_last_put_winning() -> None:
    pending = PendingEntries()
    pending.put("b", _hash(1), None)
    pending.put("a", _hash(2), "")
    pending.put("c", _hash(3), "Zoë 山田 \U0001f600")
    pending.put("b", _hash(4), "second")
    assert len(pending) == 3
    assert list(pending.drain()) == [
        ("a", _hash(2), ""),
        ("b", _hash(4), "second"),
        ("c", _hash(3), "Zoë 山田 \U0001f600"),
    ]
    assert len(pending) == 0


def test_pending_entries_put_in_id_order_keep_about_105_bytes_each_id_included() -> None:
    def build(n: int) -> PendingEntries:
        pending = PendingEntries()
        for i in range(n):  # as an incremental read keeps them: the previous snapshot's ids, in order
            pending.put(f"{i:08d}-0000-4000-8000-000000000000", _hash(i), f"User number {i}")
        return pending

    assert _retained_per_item(build) < 125  # about 105; id strings with a dict of bytes took about 190


def test_pending_entries_in_and_out_of_order_drain_like_a_dict_where_the_last_put_wins() -> None:
    rng = random.Random(3)
    for _ in range(30):
        pending, expected = PendingEntries(), {}
        ids = sorted({f"id{rng.randrange(400):03d}" for _ in range(rng.randrange(1, 120))})
        for step in range(rng.randrange(1, 300)):
            object_id = ids[min(step, len(ids) - 1)] if rng.random() < 0.6 else rng.choice(ids)
            name = rng.choice([None, "", f"n{step}", "Zoë \U0001f600"])
            pending.put(object_id, _hash(step), name)
            expected[object_id] = (_hash(step), name)
            assert len(pending) == len(expected)
        assert list(pending.drain()) == [(k, *expected[k]) for k in sorted(expected)]
        assert len(pending) == 0


def test_a_snapshot_lists_what_was_added_through_the_compact_entries(tmp_path: Path) -> None:
    repo = Repository.init(LocalBackend(tmp_path / "repo"))
    writer = repo.writer({"tenant": {"id": "t"}})
    for i in reversed(range(300)):  # more than one manifest chunk, added out of order
        writer.add("users", f"u{i:03d}", {"id": f"u{i:03d}", "object": {"n": i}}, None if i % 7 else f"n{i}")
    kept = repo.put({"id": "u005", "object": {"n": "kept"}})
    writer.add_existing("users", "u005", kept, "kept")
    writer.finish_type("users", "ok")
    record = writer.commit("complete", {})
    entries = list(Repository.open(LocalBackend(tmp_path / "repo")).named_entries(record, "users"))
    assert [e[0] for e in entries] == [f"u{i:03d}" for i in range(300)]
    assert entries[5] == ("u005", kept, "kept")
    assert entries[7][2] == "n7" and entries[8][2] is None
    assert record.types["users"]["count"] == 300


def test_a_writer_reading_the_previous_snapshot_does_not_copy_its_locations(tmp_path: Path) -> None:
    repo = Repository.init(LocalBackend(tmp_path / "repo"))
    writer = repo.writer({"tenant": {"id": "t"}})
    for i in range(300):
        writer.add("users", f"u{i:03d}", {"id": f"u{i:03d}", "object": {"n": i}})
    writer.finish_type("users", "ok")
    record = writer.commit("complete", {})

    def kept_per_entry(repository: Repository) -> float:
        """Bytes the repository keeps per entry after the entries were read and let go (the index,
        which a writer loads anyway, is loaded before)."""
        assert record.manifest("users") in repository.index
        return _retained_per_item(lambda n: len(list(repository.named_entries(record, "users")))) * N / 300

    reader = Repository.open(LocalBackend(tmp_path / "repo"))
    assert kept_per_entry(reader) > 150  # a reader keeps each object's location for its later reads
    next_writer = Repository.open(LocalBackend(tmp_path / "repo"))
    next_writer.writer({"tenant": {"id": "t"}})  # an incremental snapshot reads its baseline like this
    assert kept_per_entry(next_writer) < 20  # the index has the locations: none are copied


class _NoIndexFiles:
    def list(self, prefix: str) -> list[str]:
        return []


def test_the_index_keeps_digests_and_packed_locations() -> None:
    index = Index(_NoIndexFiles(), codec=None)  # type: ignore[arg-type]
    index.lookup(_hash(0))  # loaded (empty): later packs are recorded

    blobs = [(_hash(i), i * 1000, 500 + i) for i in range(N)]  # made outside: freed tuples stay cached

    def build(n: int) -> Index:
        index.record("p" * 64, blobs[:n])
        return index

    assert _retained_per_item(build) < 70  # about 50; a dict of digests took 155, of hex strs 290


def _index_files(tmp_path: Path, packs: list[tuple[str, list[tuple[str, int, int]]]]) -> LocalBackend:
    backend = LocalBackend(tmp_path / "repo")
    Repository.init(backend)
    for pack in packs:
        write_index(backend, [pack], PLAIN)
    return backend


def index_key(codec: Any, packs: list[Any]) -> str:
    return INDEX_PREFIX + hashlib.sha256(index_bytes(packs, codec)).hexdigest()


def test_the_index_read_from_its_files_keeps_about_50_bytes_an_object(tmp_path: Path) -> None:
    packs = [(f"{p:032x}", [(_hash(i), i * 100, 99) for i in range(p, N, 7)]) for p in range(7)]
    index = Index(_index_files(tmp_path, packs), PLAIN)

    def build(n: int) -> Index:
        assert index.lookup(_hash(0)) == (f"{0:032x}", 0, 99)  # the first lookup reads every index file
        return index

    assert _retained_per_item(build) < 70  # about 50; a dict of digests and packed ints took about 155


def test_a_hash_that_is_not_a_digest_is_found_by_the_first_lookup(tmp_path: Path) -> None:
    index = Index(_index_files(tmp_path, [("p" * 32, [("odd-hash", 0, 9), (_hash(1), 9, 9)])]), PLAIN)
    assert index.lookup("odd-hash") == ("p" * 32, 0, 9)  # before anything else has read the index files


def test_the_index_answers_like_a_dict_of_its_files_and_the_packs_recorded_since(tmp_path: Path) -> None:
    rng = random.Random(7)
    packs = [
        (f"{p:032x}", [(_hash(rng.randrange(3000)), rng.randrange(2**39), p) for _ in range(400)])
        for p in range(9)
    ]
    backend = _index_files(tmp_path, packs)
    expected: dict[str, tuple[str, int, int]] = {}
    by_key = {index_key(PLAIN, [pack]): pack for pack in packs}
    for key in backend.list(INDEX_PREFIX):  # a hash listed twice: the pack read later wins
        pack_id, blobs = by_key[key]
        expected.update((h, (pack_id, offset, length)) for h, offset, length in blobs)
    index = Index(backend, PLAIN)
    assert index.lookup(_hash(5000)) is None
    for p in range(40):  # enough to merge what was recorded into the sorted records several times
        pack_id = f"new{p}"
        blobs = [(_hash(rng.randrange(6000)), rng.randrange(2**39), p) for _ in range(rng.randrange(50, 900))]
        index.record(pack_id, blobs)
        expected.update((h, (pack_id, offset, length)) for h, offset, length in blobs)
    assert len(expected) > 4000
    for i in range(6500):
        assert index.lookup(_hash(i)) == expected.get(_hash(i)), i
    assert all(h in index for h in expected) and _hash(7000) not in index


def test_the_index_answers_as_before() -> None:
    index = Index(_NoIndexFiles(), codec=None)  # type: ignore[arg-type]
    assert index.lookup(_hash(1)) is None
    index.record("pack-a", [(_hash(1), 0, 10), (_hash(2), 2**39, 2**39 - 1)])
    index.record("pack-b", [(_hash(3), 7, 8), (_hash(1), 40, 50), ("not-a-hash", 1, 2)])
    assert index.lookup(_hash(1)) == ("pack-b", 40, 50)  # the later pack wins, as in the files' order
    assert index.lookup(_hash(2)) == ("pack-a", 2**39, 2**39 - 1)
    assert index.lookup("not-a-hash") == ("pack-b", 1, 2)
    assert _hash(3) in index and _hash(4) not in index
    index.forget()
    assert index.lookup(_hash(1)) is None


def test_a_refs_child_page_is_kept_as_shared_ids_and_its_body_let_go() -> None:
    body = {"value": [{"id": f"m{i}", "@odata.type": "#microsoft.graph.user"} for i in range(3)]}
    answer = BatchResult("g1|members", 200, {}, {**body, "@odata.nextLink": "https://graph/next"})
    out: dict[str, Any] = {}
    links: dict[str, str] = {}
    shared: dict[str, str] = {}
    _take(answer, body["value"], out, links, shared)
    assert out == {"g1|members": ["m0", "m1", "m2"]}
    assert links == {"g1|members": "https://graph/next"}
    assert answer.body is None
    again = BatchResult("g2|members", 200, {}, {"value": [{"id": "m1"}]})
    _take(again, [{"id": "".join(["m", "1"])}], out, links, shared)  # an equal, distinct string
    assert out["g2|members"] == ["m1"] and out["g2|members"][0] is out["g1|members"][1]
    objects = BatchResult("a1|owners", 200, {}, body)
    _take(objects, body["value"], out, links)
    assert out["a1|owners"] == body["value"]


class _Baseline:
    """A previous snapshot of ``count`` objects, each holding ``children`` member ids."""

    def __init__(self, count: int, children: int) -> None:
        self.count, self.children = count, children

    def type_info(self, type_key: str) -> dict[str, Any] | None:
        return None

    def entries(self, type_key: str) -> Iterator[tuple[str, str, str | None]]:
        return ((f"o{i:04d}", _hash(i), None) for i in range(self.count))

    def record(self, record_hash: str) -> dict[str, Any]:
        members = [f"{record_hash[:8]}-{j:027d}" for j in range(self.children)]
        return {"id": record_hash, "object": {"id": record_hash}, "children": {"members": members}}


def test_kept_objects_are_refreshed_fewer_at_a_time_when_their_child_lists_are_long() -> None:
    def chunks(baseline: _Baseline) -> list[int]:
        collector = Collector(None, None, baseline=baseline)  # type: ignore[arg-type]
        entries = baseline.entries("administrativeUnits")
        return [len(c) for c in iter(partial(collector._kept_records, entries), [])]

    assert chunks(_Baseline(450, 3)) == [200, 200, 50]  # groups, devices: 200 records at a time
    # an L tenant's 200 administrative units hold ~18,000 member ids each: not all at once (~100 MB)
    assert chunks(_Baseline(12, 9000)) == [3, 3, 3, 3]
