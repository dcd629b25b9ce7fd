"""Delta objects: new versions stored against their previous version's full object (docs/FORMAT.md)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from entrasnap.store import LocalBackend, Repository, SnapshotRecord, StoreError, delta
from entrasnap.store import prune as sweep
from entrasnap.store.canonical import canonical_bytes
from entrasnap.store.check import check
from entrasnap.store.copy import Copier
from entrasnap.store.index import parse_index_bases
from entrasnap.store.keys import generate_key, parse_key
from entrasnap.store.retention import forget
from repo_tools import damage, stored_at

TENANT = {"id": "aaaaaaaa-0000-4000-8000-000000000001", "domain": "contoso.example"}


def member(i: int) -> str:
    return f"{i:08d}-1111-4000-8000-{i:012d}"


def group(i: int, members: range | list[int], title: str = "") -> dict[str, Any]:
    oid = f"{i:08d}-0000-4000-8000-{i:012d}"
    obj = {"id": oid, "displayName": f"Group {i}", "description": title}
    return {"id": oid, "object": obj, "children": {"members": [member(m) for m in members]}}


def new_repo(root: Path, key: bytes | None = None) -> Repository:
    return Repository.init(LocalBackend(root, fsync=False), pack_size=1 << 16, key=key)


def stored_bases(repo: Repository) -> dict[str, str | None]:
    """Every stored object -> its base (None for a full object), as the index files say."""
    found: dict[str, str | None] = {}
    for key in repo.backend.list("index/"):
        packs, bases = parse_index_bases(repo.backend.read(key), key, repo.codec)
        found.update({h: bases.get(h) for _, blobs in packs for h, _, _ in blobs})
    return found


def shape(repo: Repository) -> list[Any]:
    """Per snapshot: whether its manifest and each chunk is a delta, and each object record's base
    (object records have the same hashes in plain repositories; chunks carry each one's locations)."""
    bases = stored_bases(repo)
    out = []
    for record in repo.snapshots():
        manifest = record.manifest("groups")
        assert manifest is not None
        chunks = [bases[c] is not None for c in repo.chunks(record, "groups")]
        out.append(
            (bases[manifest] is not None, chunks, [bases[h] for _, h in repo.entries(record, "groups")])
        )
    return out


def take(repo: Repository, day: int, groups: list[dict[str, Any]]) -> SnapshotRecord:
    started = f"2026-01-{day:02d}T02:00:00Z"
    writer = repo.writer({"tenant": TENANT, "graph": "https://graph.microsoft.com", "started": started})
    for record in groups:
        writer.add("groups", record["id"], record, record["object"]["displayName"])
    writer.finish_type("groups", "ok")
    return writer.commit("complete", {})


def days(count: int) -> list[list[dict[str, Any]]]:
    """Each day's groups: 150 groups, and each day a few change a member or their description."""
    rng = random.Random(7)
    groups = {i: (list(range(i, i + 20 + i % 50)), "") for i in range(150)}
    out = []
    for day in range(count):
        if day:
            for i in rng.sample(sorted(groups), 4):
                members, _ = groups[i]
                groups[i] = ([*members[1:], 1000 + day], f"changed on day {day}")
        out.append([group(i, m, t) for i, (m, t) in sorted(groups.items())])
    return out


def content(repo: Repository) -> list[Any]:
    return [(r.id, [(oid, repo.get(h)) for oid, h in repo.entries(r, "groups")]) for r in repo.snapshots()]


@pytest.mark.parametrize("size", [30, 3000])
def test_delta_round_trip_small_and_larger_than_zlibs_window(tmp_path: Path, size: int) -> None:
    repo = new_repo(tmp_path / "r")
    first = group(1, range(size))
    second = group(1, [*range(size // 2), 99999, *range(size // 2 + 1, size)])
    assert (len(canonical_bytes(first)) > 32 * 1024) == (size == 3000)
    h1 = repo.put(first)
    h2, _ = repo.put_located(second, base=lambda: h1)
    repo.flush()
    bases = stored_bases(repo)
    assert bases == {h1: None, h2: h1}
    *_, full_length = stored_at(tmp_path / "r", h1)
    *_, delta_length = stored_at(tmp_path / "r", h2)
    assert delta_length < full_length / 2  # a one-member change costs a fraction of the object
    fresh = Repository.open(LocalBackend(tmp_path / "r"))
    assert fresh.get(h2) == second and fresh.get(h1) == first


def test_bases_are_full_objects_and_a_delta_not_worth_it_is_stored_full(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r")
    v1 = repo.put(group(1, range(400)))
    v2, _ = repo.put_located(group(1, range(1, 401)), base=lambda: v1)
    v3, _ = repo.put_located(group(1, range(2, 402)), base=lambda: v2)  # v2 is a delta: its base
    rng = random.Random(1)
    unlike = group(1, [rng.randrange(10**9) for _ in range(400)])
    v4, _ = repo.put_located(unlike, base=lambda: v3)
    v5, _ = repo.put_located({**unlike, "object": {**unlike["object"], "x": 1}}, base=lambda: v4)
    repo.flush()
    assert stored_bases(repo) == {v1: None, v2: v1, v3: v1, v4: None, v5: v4}
    assert [Repository.open(LocalBackend(tmp_path / "r")).get(h)["id"] for h in (v3, v5)] == [
        group(1, [])["id"]
    ] * 2


def test_writer_stores_new_versions_against_the_parents_and_reads_them_back(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r")
    history = days(3)
    records = [take(repo, day + 1, groups) for day, groups in enumerate(history)]
    fresh = Repository.open(LocalBackend(tmp_path / "r"))
    bases = stored_bases(fresh)
    assert all(bases[b] is None for b in bases.values() if b is not None)  # depth 1: a star
    first = dict(fresh.entries(records[0], "groups"))
    second = dict(fresh.entries(records[1], "groups"))
    changed = [oid for oid in second if second[oid] != first[oid]]
    assert len(changed) == 4 and all(bases[second[oid]] == first[oid] for oid in changed)
    old_chunks, new_chunks = fresh.chunks(records[0], "groups"), fresh.chunks(records[1], "groups")
    assert [bases[c] for c in new_chunks if c not in old_chunks] == [
        c for c in old_chunks if c not in new_chunks
    ]  # each rewritten chunk is a delta of the parent's chunk it replaces
    assert content(fresh) == [
        (r.id, [(g["id"], g) for g in groups]) for r, groups in zip(records, history, strict=True)
    ]
    report = check(LocalBackend(tmp_path / "r"), read_data=True)
    assert report.exit_code() == 0 and report.objects_verified == len(bases)


def test_get_many_reads_a_delta_and_its_base_once(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r")
    history = days(2)
    records = [take(repo, day + 1, groups) for day, groups in enumerate(history)]
    fresh = Repository.open(LocalBackend(tmp_path / "r"))
    first, second = dict(fresh.entries(records[0], "groups")), dict(fresh.entries(records[1], "groups"))
    pairs = [(first[oid], second[oid]) for oid in second if second[oid] != first[oid]]
    assert len(pairs) == 4 and all(stored_bases(fresh)[new] == old for old, new in pairs)
    single_reads: list[str] = []
    read_range = fresh.backend.read_range

    def counted(key: str, offset: int, length: int) -> bytes:
        single_reads.append(key)
        return read_range(key, offset, length)

    fresh.backend.read_range = counted  # type: ignore[method-assign]
    values = fresh.get_many(h for pair in pairs for h in pair)
    old_groups = {g["id"]: g for g in history[0]}
    new_groups = {g["id"]: g for g in history[1]}
    assert [(values[old], values[new]) for old, new in pairs] == [
        (old_groups[values[new]["id"]], new_groups[values[new]["id"]]) for _, new in pairs
    ]
    # Each delta's base is one of the full objects the same call read: kept for it, not read again.
    assert single_reads == []


def test_copy_stores_the_same_kinds_as_snapshots_written_daily(tmp_path: Path) -> None:
    direct = new_repo(tmp_path / "direct")
    for day, groups in enumerate(days(6)):
        take(direct, day + 1, groups)
    copied = new_repo(tmp_path / "copied")
    Copier(Repository.open(LocalBackend(tmp_path / "direct")), copied).copy()
    a = shape(Repository.open(LocalBackend(tmp_path / "direct")))
    assert sum(c for _, chunks, _ in a for c in chunks) >= 5 and sum(1 for _, _, r in a for b in r if b) >= 20
    b = shape(Repository.open(LocalBackend(tmp_path / "copied")))
    assert [records for _, _, records in b] == [records for _, _, records in a]  # the same bases
    # chunks hold locations, whose random pack ids compress a little better or worse: a delta near the
    # share may be stored full in one repository and not in the other
    flips = sum(
        x != y
        for (m, c, _), (n, d, _) in zip(a, b, strict=True)
        for x, y in zip([m, *c], [n, *d], strict=True)
    )
    assert flips <= 2
    sizes = [
        sum(n for p in (root / "data").rglob("*") for n in [p.stat().st_size] if p.is_file())
        for root in (tmp_path / "direct", tmp_path / "copied")
    ]
    assert abs(sizes[0] - sizes[1]) < sizes[0] * 0.02


def test_copy_plain_to_encrypted_and_back_keeps_every_snapshot(tmp_path: Path) -> None:
    plain = new_repo(tmp_path / "plain")
    for day, groups in enumerate(days(4)):
        take(plain, day + 1, groups)
    key = parse_key(generate_key())
    encrypted = new_repo(tmp_path / "enc", key=key)
    Copier(plain, encrypted).copy()
    back = new_repo(tmp_path / "back")
    Copier(Repository.open(LocalBackend(tmp_path / "enc"), key=key), back).copy()
    reopened = Repository.open(LocalBackend(tmp_path / "enc"), key=key)
    assert content(reopened) == content(plain) == content(back)
    assert sum(1 for base in stored_bases(reopened).values() if base) >= 10
    assert shape(back) == shape(plain)
    some_base = next(b for b in stored_bases(reopened).values() if b)
    packs = b"".join(p.read_bytes() for p in (tmp_path / "enc" / "data").rglob("*") if p.is_file())
    assert bytes.fromhex(some_base) not in packs and some_base.encode() not in packs  # sealed
    assert check(LocalBackend(tmp_path / "enc"), read_data=True, opener=lambda b: reopened).exit_code() == 0


def test_check_names_a_missing_or_damaged_base_and_the_snapshots_that_need_it(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r")
    records = [take(repo, day + 1, groups) for day, groups in enumerate(days(3))]
    fresh = Repository.open(LocalBackend(tmp_path / "r"))
    bases = stored_bases(fresh)
    first = dict(fresh.entries(records[0], "groups"))
    later = {h for r in records[1:] for _, h in fresh.entries(r, "groups")}
    base = next(b for h, b in bases.items() if b in first.values() and h in later)
    damage(tmp_path / "r", base)
    report = check(LocalBackend(tmp_path / "r"), read_data=True)
    assert report.exit_code() == 1
    assert set(report.damaged_snapshots) == {r.id for r in records}
    assert any(base in p.message and "delta" in p.message for p in report.problems)
    user = next(h for h, b in bases.items() if b == base and h in later)
    with pytest.raises(StoreError, match=f"object {base} \\(the base of delta object {user}\\) is damaged"):
        Repository.open(LocalBackend(tmp_path / "r")).get(user)


def test_check_reports_a_deleted_base(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r")
    records = [take(repo, day + 1, groups) for day, groups in enumerate(days(3))]
    bases = stored_bases(repo)
    base = next(b for b in bases.values() if b)
    path, _, _ = stored_at(tmp_path / "r", base)
    for key in list(repo.backend.list("index/")):  # the pack and the index file that lists it
        if path.name in (p for p, _ in parse_index_bases(repo.backend.read(key), key, repo.codec)[0]):
            repo.backend.delete(key)
    path.unlink()
    report = check(LocalBackend(tmp_path / "r"))
    assert report.exit_code() == 1
    assert any(
        ", the base of" in p.message and "delta object(s) snapshots need" in p.message
        for p in report.problems
    )
    assert set(report.damaged_snapshots) == {r.id for r in records}  # later ones through their deltas


def test_prune_keeps_bases_of_live_deltas_and_removes_unused_ones(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r")
    v1, v2 = group(1, range(300)), group(1, range(1, 301))
    rng = random.Random(3)
    v3 = group(1, [rng.randrange(10**9) for _ in range(300)])
    records = [take(repo, day, [g]) for day, g in ((1, v1), (2, v2), (3, v3))]
    h1, h2 = (repo.codec.object_id(canonical_bytes(v)) for v in (v1, v2))
    assert stored_bases(repo)[h2] == h1
    forget(repo, records[:1])
    sweep.execute(repo, sweep.plan(Repository.open(LocalBackend(tmp_path / "r")), max_unused=0.0))
    kept = Repository.open(LocalBackend(tmp_path / "r"))
    assert h1 in stored_bases(kept) and kept.get(h2) == v2
    assert check(LocalBackend(tmp_path / "r"), read_data=True).exit_code() == 0
    forget(kept, [records[1]])
    sweep.execute(kept, sweep.plan(Repository.open(LocalBackend(tmp_path / "r")), max_unused=0.0))
    left = stored_bases(Repository.open(LocalBackend(tmp_path / "r")))
    assert h1 not in left and h2 not in left
    assert check(LocalBackend(tmp_path / "r"), read_data=True).exit_code() == 0


def test_a_format_2_repository_is_read_and_gets_no_deltas(tmp_path: Path) -> None:
    root = tmp_path / "old"
    new_repo(root)
    config = json.loads((root / "config.json").read_bytes())
    (root / "config.json").write_bytes(canonical_bytes({**config, "version": 2}))
    old = Repository.open(LocalBackend(root, fsync=False))
    records = [take(old, day + 1, groups) for day, groups in enumerate(days(3))]
    fresh = Repository.open(LocalBackend(root))
    assert not any(stored_bases(fresh).values())
    assert [r.id for r in fresh.snapshots()] == [r.id for r in records]
    assert check(LocalBackend(root), read_data=True).exit_code() == 0


def test_inflate_refuses_the_wrong_base() -> None:
    data, base = b'{"a":"' + b"x" * 20000 + b'"}', b'{"a":"' + b"x" * 19999 + b'"}'
    body = delta.deflate(data, base)
    assert delta.inflate(body, base) == data
    with pytest.raises(delta.DamagedError):
        delta.inflate(body, base + b" ")


def daily_one_change(count: int, rotate: bool = False) -> list[list[dict[str, Any]]]:
    """150 groups; each day group 0 (in the same manifest chunk every day) gets a new description, or
    with ``rotate`` six groups, others each day."""
    out = []
    for day in range(count):
        changed = {(day * 6 + k) % 150 for k in range(6)} if rotate else {0}
        out.append([group(i, range(i, i + 20), f"day {day}" if i in changed else "") for i in range(150)])
    return out


def line_of(repo: Repository, records: list[SnapshotRecord]) -> list[tuple[str, int, str | None]]:
    """(hash, version, base) of the chunk holding group 0 in each snapshot."""
    out = []
    for record in records:
        chunk = next(c for c in repo.chunks(record, "groups") if group(0, [])["id"] in str(repo.get(c)))
        path, offset, length = stored_at(repo.backend.root, chunk)  # type: ignore[attr-defined]
        base, _ = delta.split(path.read_bytes()[offset : offset + length])
        out.append((chunk, base.version if base else 0, base.id if base else None))
    return out


def test_chunks_form_lines_of_skip_deltas_that_read_check_and_prune(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r")
    history = daily_one_change(9)
    records = [take(repo, day + 1, groups) for day, groups in enumerate(history)]
    line = line_of(repo, records)
    assert [v for _, v, _ in line] == list(range(9))  # one version a day, the first full
    by_version = {v: h for h, v, _ in line}
    assert [b for _, _, b in line[1:]] == [by_version[v & (v - 1)] for v in range(1, 9)]  # 3 -> 2, 7 -> 6 …
    assert Repository.open(LocalBackend(tmp_path / "r")).get(line[7][0]) == repo.get(line[7][0])
    assert content(Repository.open(LocalBackend(tmp_path / "r"))) == [
        (r.id, [(g["id"], g) for g in groups]) for r, groups in zip(records, history, strict=True)
    ]
    assert check(LocalBackend(tmp_path / "r"), read_data=True).exit_code() == 0
    forget(repo, records[:7])  # version 7 reads through versions 6, 4 and 0 of forgotten snapshots
    sweep.execute(repo, sweep.plan(Repository.open(LocalBackend(tmp_path / "r")), max_unused=0.0))
    kept = Repository.open(LocalBackend(tmp_path / "r"))
    assert {line[v][0] for v in (0, 4, 6, 7, 8)} <= set(stored_bases(kept))
    assert line[5][0] not in stored_bases(kept)
    assert content(kept) == [
        (r.id, [(g["id"], g) for g in history[i]]) for i, r in [(7, records[7]), (8, records[8])]
    ]
    assert check(LocalBackend(tmp_path / "r"), read_data=True).exit_code() == 0


def test_skip_delta_lines_store_less_than_a_star_and_format_3_keeps_stars(tmp_path: Path) -> None:
    sizes = {}
    for version in (3, 4):
        root = tmp_path / str(version)
        new_repo(root)
        config = json.loads((root / "config.json").read_bytes())
        (root / "config.json").write_bytes(canonical_bytes({**config, "version": version}))
        repo = Repository.open(LocalBackend(root, fsync=False))
        records = [
            take(repo, day + 1, groups) for day, groups in enumerate(daily_one_change(24, rotate=True))
        ]
        bases = stored_bases(repo)
        chained = [h for h, b in bases.items() if b is not None and bases[b] is not None]
        assert bool(chained) == (version == 4)  # format 3: every base is a full object
        chunks = {c for r in records[1:] for c in repo.chunks(r, "groups")} - set(
            repo.chunks(records[0], "groups")
        )
        sizes[version] = sum(stored_at(root, c)[2] for c in chunks)  # the chunks of days 2 to 24
        assert check(LocalBackend(root), read_data=True).exit_code() == 0
    assert sizes[4] < 0.75 * sizes[3]


def test_get_many_reads_chained_bases_pack_by_pack(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r")
    records = [take(repo, day + 1, groups) for day, groups in enumerate(daily_one_change(8))]
    fresh = Repository.open(LocalBackend(tmp_path / "r"))
    line = line_of(Repository.open(LocalBackend(tmp_path / "r")), records)
    assert line[7][1] == 7  # through versions 6, 4 and 0
    assert line[7][0] in fresh.chunks(fresh.snapshots()[7], "groups")  # where chunks are: the manifest's
    reads: list[tuple[str, str]] = []
    read_range, read_ranges = fresh.backend.read_range, fresh.backend.read_ranges

    def one(key: str, offset: int, length: int) -> bytes:
        reads.append(("one", key))
        return read_range(key, offset, length)

    def many(key: str, ranges: list[tuple[int, int]]) -> list[bytes]:
        reads.append(("many", key))
        return read_ranges(key, ranges)

    fresh.backend.read_range = one  # type: ignore[method-assign]
    fresh.backend.read_ranges = many  # type: ignore[method-assign]
    assert fresh.get_many([line[7][0]])[line[7][0]] == repo.get(line[7][0])
    assert [kind for kind, _ in reads] == ["many"] * 4  # the chunk, then one read per level of its chain


def test_reading_a_line_in_order_inflates_each_version_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = new_repo(tmp_path / "r")
    records = [take(repo, day + 1, groups) for day, groups in enumerate(daily_one_change(8))]
    line = line_of(Repository.open(LocalBackend(tmp_path / "r")), records)
    expected = [repo.get(h)["entries"] for h, _, _ in line]
    fresh = Repository.open(LocalBackend(tmp_path / "r"))
    inflated: list[int] = []
    inflate = delta.inflate
    monkeypatch.setattr(delta, "inflate", lambda body, base: inflated.append(1) or inflate(body, base))
    assert [fresh.get(h)["entries"] for h, _, _ in line] == expected
    assert len(inflated) == 7  # versions 1..7, each once: an even version is kept for the ones after it
