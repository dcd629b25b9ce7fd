"""One contract, every backend: local disk, Azure Blob on Azurite (container root and under a prefix)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from azurite import Azurite
from entrasnap.store import Backend, NotFoundError, StoreError
from entrasnap.store.location import open_backend

BACKENDS = ["local", "azurite", "azurite-prefix"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "local":
        yield open_backend(str(tmp_path / "repo"))
        return
    server: Azurite = request.getfixturevalue("azurite")
    container = server.new_container()
    tail = "/tenants/contoso" if request.param == "azurite-prefix" else ""
    store = open_backend(f"{server.endpoint}/{container}{tail}", connection_string=server.connection_string)
    yield store
    store.close()  # type: ignore[attr-defined]


def test_create_is_create_only(backend: Backend) -> None:
    assert not backend.exists("objects/ab/abcd")
    assert backend.create("objects/ab/abcd", b"first")
    assert backend.exists("objects/ab/abcd")
    assert not backend.create("objects/ab/abcd", b"second")
    assert not backend.create("objects/ab/abcd", b"first")  # the same bytes again: still not created
    assert backend.read("objects/ab/abcd") == b"first"


def test_missing_keys(backend: Backend) -> None:
    with pytest.raises(NotFoundError) as raised:
        backend.read("snapshots/none")
    assert raised.value.key == "snapshots/none"
    with pytest.raises(NotFoundError):
        backend.read_range("data/ab/none", 0, 4)
    with pytest.raises(NotFoundError):
        backend.read_range("data/ab/none", 0, 0)
    assert not backend.exists("snapshots/none")


def test_read_range(backend: Backend) -> None:
    backend.create("data/ab/pack", b"0123456789")
    assert backend.read_range("data/ab/pack", 0, 4) == b"0123"
    assert backend.read_range("data/ab/pack", 3, 5) == b"34567"
    assert backend.read_range("data/ab/pack", 6, 4) == b"6789"  # up to the very end
    assert backend.read_range("data/ab/pack", 4, 0) == b""
    for offset, length in ((6, 5), (10, 1), (50, 3)):  # past the end: short, never padded
        with pytest.raises(StoreError) as raised:
            backend.read_range("data/ab/pack", offset, length)
        assert not isinstance(raised.value, NotFoundError)
        assert "shorter than expected" in str(raised.value)


def test_list_is_sorted_and_prefix_exact(backend: Backend) -> None:
    keys = [
        "snapshots/b",
        "snapshots/a",
        "snapshotsX/c",
        "snap",
        "objects/ab/cd",
        "objects/ac/x",
        "objects/ab/ce",
        "index/0001",
    ]
    for key in keys:
        assert backend.create(key, key.encode())
    assert list(backend.list("snapshots/")) == ["snapshots/a", "snapshots/b"]
    assert list(backend.list("objects/ab/")) == ["objects/ab/cd", "objects/ab/ce"]
    assert list(backend.list("objects/a")) == ["objects/ab/cd", "objects/ab/ce", "objects/ac/x"]
    assert list(backend.list("snap")) == ["snap", "snapshots/a", "snapshots/b", "snapshotsX/c"]
    assert list(backend.list("")) == sorted(keys)
    assert list(backend.list("nothing/")) == []
    assert list(backend.list("objects/ab/cd/")) == []


def test_list_sizes(backend: Backend) -> None:
    backend.create("data/aa/one", b"x" * 3)
    backend.create("data/ab/two", b"y" * 70)
    backend.create("data/ab/empty", b"")
    backend.create("datum", b"zz")
    assert list(backend.list_sizes("data/")) == [
        ("data/aa/one", 3),
        ("data/ab/empty", 0),
        ("data/ab/two", 70),
    ]
    assert list(backend.list_sizes("nothing/")) == []


def test_delete_is_idempotent(backend: Backend) -> None:
    backend.create("locks/run", b"me")
    backend.create("locks/other", b"them")
    backend.delete("locks/run")
    assert not backend.exists("locks/run")
    backend.delete("locks/run")
    backend.delete("locks/never-there")
    assert list(backend.list("locks/")) == ["locks/other"]
    with pytest.raises(NotFoundError):
        backend.read("locks/run")
    assert backend.create("locks/run", b"again")  # the name is free again
    assert backend.read("locks/run") == b"again"


ODD_KEYS = [
    "objects/with space/a b",
    "objects/plus+percent%20/x",
    "objects/ünïcödé/日本語",
    "objects/punct/=&;,@!$'()*~",
    "objects/hash#and?question",
    "objects/dots/.hidden.json",
]


def test_odd_but_valid_keys(backend: Backend) -> None:
    for key in ODD_KEYS:
        assert backend.create(key, key.encode()), key
    for key in ODD_KEYS:
        assert backend.exists(key), key
        assert backend.read(key) == key.encode(), key
        assert backend.read_range(key, 0, 3) == key.encode()[:3], key
    assert list(backend.list("objects/")) == sorted(ODD_KEYS)
    assert dict(backend.list_sizes("objects/")) == {key: len(key.encode()) for key in ODD_KEYS}
    for key in ODD_KEYS:
        backend.delete(key)
    assert list(backend.list("objects/")) == []


@pytest.mark.parametrize("key", ["", "a//b", "../x", "a/./b", "a/", "/a"])
def test_invalid_keys_are_refused(backend: Backend, key: str) -> None:
    with pytest.raises(ValueError, match="invalid repository key"):
        backend.create(key, b"x")


def test_empty_value(backend: Backend) -> None:
    assert backend.create("config.json", b"")
    assert backend.exists("config.json")
    assert backend.read("config.json") == b""
    assert backend.read_range("config.json", 0, 0) == b""
    assert list(backend.list_sizes("config")) == [("config.json", 0)]
    assert not backend.create("config.json", b"now with content")
    assert backend.read("config.json") == b""


def test_large_value(backend: Backend) -> None:
    data = os.urandom(1 << 20) * 20  # 20 MiB
    assert backend.create("data/ff/big", data)
    assert backend.read("data/ff/big") == data
    assert backend.read_range("data/ff/big", 15_000_000, 1000) == data[15_000_000:15_001_000]
    assert list(backend.list_sizes("data/")) == [("data/ff/big", len(data))]
    assert not backend.create("data/ff/big", b"small")
    assert backend.read_range("data/ff/big", len(data) - 5, 5) == data[-5:]


def test_reading_many_objects_from_remote_storage_fetches_whole_packs(azurite: Azurite) -> None:
    """On Azure each read is a request: reading a snapshot's 300 objects takes a handful of requests
    (whole packs once several objects of one are read), not one per object."""
    from entrasnap.store import Repository

    container = azurite.new_container()
    location = f"{azurite.endpoint}/{container}"
    store = open_backend(location, connection_string=azurite.connection_string)
    repo = Repository.open(store, create=True)
    writer = repo.writer({"tenant": {"id": "t"}})
    users = {
        f"u{i:04d}": {"id": f"u{i:04d}", "object": {"id": f"u{i:04d}", "displayName": f"User {i}"}}
        for i in range(300)
    }
    for oid, record in users.items():
        writer.add("users", oid, record, record["object"]["displayName"])
    writer.finish_type("users", "ok")
    record = writer.commit("complete", {})

    reader = open_backend(location, connection_string=azurite.connection_string)
    calls: list[str] = []
    for name in ("read", "read_range"):
        original = getattr(reader, name)
        setattr(reader, name, lambda *args, _f=original, _n=name: calls.append(_n) or _f(*args))
    fresh = Repository.open(reader)
    assert {r["id"]: r for r in fresh.records(fresh.find(record.id), "users")} == users
    assert len(calls) < 20, calls
