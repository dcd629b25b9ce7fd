"""Saving and loading a fake tenant: round trip, atomic writes, format checks, autosave and delta continuity."""

from __future__ import annotations

import gzip
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from entrasnap.fakegraph import mutate, persist
from entrasnap.fakegraph.state import Store
from entrasnap.fakegraph.tenant import generate


def snapshot(store: Store) -> Any:
    """Everything in a Store, as comparable plain data (independent of persist's own encoding)."""
    return {
        "ident": (store.tenant_id, store.domain, store.size, store.seed, sorted(store.licenses)),
        "sets": {k: (s.id_field, s.ids(), [s.objects[i] for i in s.ids()]) for k, s in store.sets.items()},
        "singletons": store.singletons,
        "links": store.links,
        "directory": store.directory,
        "recycle": {
            k: (v.obj, v.set_key, v.deleted_at, v.links, v.incoming) for k, v in store.recycle.items()
        },
        "changes": (store.changes.seq, store.changes.changes),
    }


def test_round_trip_equals(tmp_path: Path) -> None:
    store = generate(seed=2)
    mutate.apply(store, {"action": "churn", "percent": 20, "seed": 1})  # recycle bin, change log, links
    assert store.recycle and store.changes.changes
    path = tmp_path / "tenant.json.gz"
    persist.save(store, path)
    assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    loaded = persist.load(path)
    assert snapshot(loaded) == snapshot(store)
    # The loaded store keeps working: indexes, paging order and the change log continue.
    uid = loaded.sets["users"].ids()[0]
    mutate.rename(loaded, uid, "After Load")
    assert loaded.changes.seq == store.changes.seq + 1
    assert loaded.sets["users"].index("displayName")["after load"] == [uid]
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.gz"
    first = generate(seed=3)
    persist.save(first, path)
    original = path.read_bytes()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.fsync", broken)
    with pytest.raises(OSError, match="disk full"):
        persist.save(generate(seed=4), path)
    assert path.read_bytes() == original
    assert list(tmp_path.iterdir()) == [path]


def test_unknown_format_or_version_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.gz"
    document = persist.to_document(generate(seed=1))
    for bad, message in (
        ({**document, "version": 99}, "version 99"),
        ({**document, "format": "x"}, "format"),
        ([1, 2], "format"),
    ):
        path.write_bytes(gzip.compress(orjson.dumps(bad)))
        with pytest.raises(ValueError, match=message):
            persist.load(path)
    path.write_bytes(b"plain text")
    with pytest.raises(ValueError, match="gzip"):
        persist.load(path)
    path.write_bytes(gzip.compress(b"{not json"))
    with pytest.raises(ValueError, match="JSON"):
        persist.load(path)


def test_autosave_debounces_and_delta_survives_restart(tmp_path: Path, fakegraph_factory: Any) -> None:
    path = tmp_path / "live.gz"
    running = fakegraph_factory(delta_token_ttl=3600)
    saver = persist.attach_autosave(running.fake, path, interval=1.5)
    store = running.store
    users = store.sets["users"].ids()
    with running.client() as client:
        page = client.get("/v1.0/users/delta", params={"$deltatoken": "latest"}).json()
        link = page["@odata.deltaLink"]
        for n, uid in enumerate(users[:5]):
            assert client.patch(f"/v1.0/users/{uid}", json={"jobTitle": f"Title {n}"}).status_code == 204
        # The first write saves at once; the others wait for the interval and are saved together.
        deadline = time.monotonic() + 1
        while saver.saves < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert saver.saves == 1
        deadline = time.monotonic() + 5
        while saver.saves < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert saver.saves == 2
        assert persist.load(path).sets["users"].objects[users[4]]["jobTitle"] == "Title 4"
        response = client.post(f"{running.url}/_fakegraph/mutate", json={"action": "rename", "id": users[6]})
        assert response.status_code == 200
    saver.close()
    assert saver.changed not in running.fake.on_change
    restarted = fakegraph_factory(store=persist.load(path))
    with restarted.client() as client:
        # A token issued before the restart still works and shows the changes made before it.
        changed = client.get(link.replace(running.url, restarted.url)).json()["value"]
        assert {u["id"] for u in changed} == {*users[:5], users[6]}
