"""What a snapshot keeps in memory per object: compact pending entries and index, ids-only child pages.

The bounds are allocated bytes (tracemalloc), which do not depend on the machine's load: the structures
they replaced (hex strings and tuples) took about twice as much and fail them.
"""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from entrasnap.collect.engine import _take
from entrasnap.graph import BatchResult
from entrasnap.store import LocalBackend, Repository
from entrasnap.store.index import Index
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

    def build(n: int) -> Index:
        index.record("p" * 64, [(_hash(i), i * 1000, 500 + i) for i in range(n)])
        return index

    assert _retained_per_item(build) < 200  # about 155; hex str keys and location tuples took about 290


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
