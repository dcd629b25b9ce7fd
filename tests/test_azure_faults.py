"""Azure Blob under faults (a proxy before Azurite): 503s and slow answers are retried; Azurite stopped
mid-snapshot fails the run in one line, leaves no snapshot record, and the next run recovers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from azurite import ACCOUNT, Azurite, Fault, FaultProxy
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.store import StoreError
from entrasnap.store import azure as azure_store
from entrasnap.store.azure import AzureBlobBackend
from entrasnap.store.location import open_backend
from test_azure_cli import cli, failed_in_one_line, fake, run_snapshot, take_snapshot

pytestmark = pytest.mark.usefixtures("azure_env")
__all__ = ["fake"]  # the fixture, shared with test_azure_cli


@pytest.fixture
def proxy(azurite: Azurite) -> Iterator[FaultProxy]:
    running = FaultProxy(azurite.port)
    yield running
    running.close()


def backend_through(proxy: FaultProxy, container: str) -> AzureBlobBackend:
    store = open_backend(f"{proxy.endpoint}/{container}", connection_string=proxy.connection_string)
    assert isinstance(store, AzureBlobBackend)
    return store


def test_503s_are_retried(azurite: Azurite, proxy: FaultProxy) -> None:
    store = backend_through(proxy, azurite.new_container())
    proxy.faults.append(Fault(status=503, count=2))
    assert store.create("objects/aa/one", b"payload")  # two 503s, then created
    proxy.faults.append(Fault(status=503, count=2))
    assert store.read("objects/aa/one") == b"payload"
    proxy.faults.append(Fault(status=503, count=2))
    assert list(store.list("objects/")) == ["objects/aa/one"]
    assert proxy.injected() == 6
    assert proxy.requests["PUT"] == 3 and proxy.requests["GET"] == 6


def test_persistent_503s_give_up_in_one_line(azurite: Azurite, proxy: FaultProxy) -> None:
    store = backend_through(proxy, azurite.new_container())
    proxy.faults.append(Fault(status=503, count=1000))
    with pytest.raises(StoreError) as raised:
        store.read("config.json")
    assert "answered 503 ServerBusy (retried)" in str(raised.value)
    assert "\n" not in str(raised.value)
    assert proxy.injected() == azure_store.RETRIES + 1


def test_slow_answers_time_out_and_are_retried(
    azurite: Azurite, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PUT whose answer is late: it was carried out, the client timed out and asked again. The retry
    finds the blob it made itself (same bytes): created, not 'already there'."""
    monkeypatch.setattr(azure_store, "READ_TIMEOUT", 0.5)
    store = backend_through(proxy, azurite.new_container())
    proxy.faults.append(Fault(delay=1.5, methods=("PUT",)))
    assert store.create("snapshots/first", b"record")
    assert proxy.injected() == 1 and proxy.requests["PUT"] == 2
    assert not store.create("snapshots/first", b"record")  # and create-only as ever
    proxy.faults.append(Fault(delay=1.5, methods=("PUT",)))
    assert store.create("objects/aa/other", b"mine")
    assert store.create("locks/held", b"someone") and not store.create("locks/held", b"me")
    proxy.faults.append(Fault(delay=1.5, methods=("GET",)))
    assert store.read("objects/aa/other") == b"mine"
    assert proxy.injected() == 3


def test_snapshot_through_503s_and_slow_answers(
    fake: RunningFakeGraph, azurite: Azurite, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azure_store, "READ_TIMEOUT", 0.5)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", proxy.connection_string)
    proxy.faults += [Fault(status=503, every=2, count=6), Fault(delay=1.0, every=4, count=2)]
    store = f"az://{ACCOUNT}/{azurite.new_container()}"
    record = take_snapshot(fake, store, "--types", "users,groups,applications")
    assert [f.applied for f in proxy.faults] == [6, 2]
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)  # read without faults
    listing = json.loads(cli("list", "--store", store, "--json").stdout)
    assert [r["id"] for r in listing] == [record["id"]]
    assert listing[0]["objects"] == sum(i["count"] for i in record["types"].values()) > 50


def stop_at_put(server: Azurite, proxy: FaultProxy, nth: int) -> list[str]:
    """Stop Azurite just before the ``nth`` PUT from now reaches it; the PUTs' paths are returned."""
    puts: list[str] = []

    def hook(method: str, path: str) -> None:
        if method == "PUT":
            puts.append(path)
            if len(puts) == nth:
                server.stop()

    proxy.hook = hook
    return puts


def test_azurite_stopped_mid_snapshot(
    fakegraph_factory: Callable[..., RunningFakeGraph],
    azurite_disk: Azurite,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fakegraph_factory(time_scale=0.02, throttling=False)
    proxy = FaultProxy(azurite_disk.port)
    try:
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", proxy.connection_string)
        store = f"az://{ACCOUNT}/{azurite_disk.new_container()}/repo"
        first = take_snapshot(fake, store, "--types", "users")
        # The next run writes new objects (groups, applications); Azurite stops during it.
        more = ("--types", "users,groups,applications")
        puts = stop_at_put(azurite_disk, proxy, nth=3)
        failed = run_snapshot(fake, store, *more)
        line = failed_in_one_line(failed, f"storage account {ACCOUNT}")
        assert "did not answer" in line or "cannot reach" in line
        assert len(puts) >= 3 and azurite_disk.process is None
        proxy.hook = None

        azurite_disk.start()
        listing: list[dict[str, Any]] = json.loads(cli("list", "--store", store, "--json").stdout)
        assert [r["id"] for r in listing] == [first["id"]]  # nothing half-committed is visible
        second = take_snapshot(fake, store, *more)
        listing = json.loads(cli("list", "--store", store, "--json").stdout)
        assert [r["id"] for r in listing] == [first["id"], second["id"]]
        assert [r["status"] for r in listing] == ["complete", "complete"]
        # Both read back: check re-hashes every object; the diff reads the second's new types.
        checked = cli("check", "--read-data", "--store", store)
        assert checked.exit_code == 0, checked.stdout + checked.stderr
        diff = cli("diff", first["id"], second["id"], "--store", store, "--format", "json")
        assert diff.exit_code == 0, diff.stderr
        added = {t for t, n in second["types"].items() if n["count"] and t not in first["types"]}
        assert {"groups", "applications"} <= added
        assert all(f'"{t}"' in diff.stdout for t in added)
    finally:
        proxy.close()
