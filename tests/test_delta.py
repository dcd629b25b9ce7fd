"""Delta queries over HTTP: initial rounds, change rounds, member slices, token expiry and resync."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx

from entrasnap.fakegraph.service import RunningFakeGraph

JSON = dict[str, Any]


def walk(client: httpx.Client, url: str) -> tuple[list[JSON], str]:
    """Every page of one delta round; returns the pages and the deltaLink."""
    pages: list[JSON] = []
    for _ in range(1000):
        response = client.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        if "@odata.nextLink" in page:
            assert "@odata.deltaLink" not in page
            url = page["@odata.nextLink"]
            continue
        return pages, page["@odata.deltaLink"]
    raise AssertionError("delta round did not end")


def items(pages: list[JSON]) -> list[JSON]:
    return [item for page in pages for item in page["value"]]


def test_initial_user_round_equals_full_list(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client() as client:
        pages, delta_link = walk(client, "/v1.0/users/delta")
        assert len(pages) > 1  # paged with nextLink
        assert "$deltatoken=" in delta_link
        assert all(page["@odata.context"].endswith("$metadata#users") for page in pages)
        got = items(pages)
        ids = [u["id"] for u in got]
        assert ids == sorted(fakegraph.store.sets["users"].ids())
        # Default property set when $select is absent, as GET /users.
        listed = client.get("/v1.0/users", params={"$top": "999"}).json()["value"]
        by_id = {u["id"]: u for u in got}
        for user in listed:
            assert by_id[user["id"]] == user


def test_select_limits_properties_and_carries_into_delta_link(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client() as client:
        pages, delta_link = walk(client, "/v1.0/users/delta?$select=displayName,jobTitle")
        assert {frozenset(u) for u in items(pages)} == {frozenset({"id", "displayName", "jobTitle"})}
        uid = fakegraph.store.sets["users"].ids()[0]
        assert client.patch(f"/v1.0/users/{uid}", json={"jobTitle": "Chief Delta Officer"}).status_code == 204
        later = client.get(delta_link).json()
        assert later["value"] == [
            {
                "id": uid,
                "displayName": fakegraph.store.sets["users"].objects[uid]["displayName"],
                "jobTitle": "Chief Delta Officer",
            }
        ]


def test_groups_default_include_members_delta(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    with fakegraph.client() as client:
        pages, _ = walk(client, "/v1.0/groups/delta")
        merged: dict[str, list[str]] = {}
        for group in items(pages):
            for member in group.get("members@delta", []):
                assert set(member) == {"@odata.type", "id"}
                kind = fakegraph.fake.engine.set_types[store.directory[member["id"]]]
                assert member["@odata.type"] == "#" + kind
                merged.setdefault(group["id"], []).append(member["id"])
        for gid in store.sets["groups"].ids():
            assert merged.get(gid, []) == store.linked("groups/members", gid)
        selected, _ = walk(client, "/v1.0/groups/delta?$select=displayName")
        assert all("members@delta" not in g for g in items(selected))
        with_members, _ = walk(client, "/v1.0/groups/delta?$select=displayName,members")
        assert any("members@delta" in g for g in items(with_members))


def test_changes_after_writes_over_http(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    users = store.sets["users"].ids()
    groups = store.sets["groups"].ids()
    with fakegraph.client() as client:
        _, user_link = walk(client, "/v1.0/users/delta")
        _, group_link = walk(client, "/v1.0/groups/delta")
        uid = users[5]
        assert client.patch(f"/v1.0/users/{uid}", json={"officeLocation": "42/1337"}).status_code == 204
        gid = groups[2]
        newcomer = next(u for u in users if u not in store.linked("groups/members", gid))
        leaver = store.linked("groups/members", gid)[0]
        ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{newcomer}"}
        assert client.post(f"/v1.0/groups/{gid}/members/$ref", json=ref).status_code == 204
        assert client.delete(f"/v1.0/groups/{gid}/members/{leaver}/$ref").status_code == 204
        doomed = groups[3]
        assert client.delete(f"/v1.0/groups/{doomed}").status_code == 204

        user_pages, user_link2 = walk(client, user_link)
        changed_users = items(user_pages)
        assert [u["id"] for u in changed_users] == [uid]
        assert changed_users[0]["officeLocation"] == "42/1337"

        group_pages, group_link2 = walk(client, group_link)
        by_id = {g["id"]: g for g in items(group_pages)}
        assert set(by_id) == {gid, doomed}
        assert by_id[doomed] == {"id": doomed, "@removed": {"reason": "changed"}}
        members = {m["id"]: m for m in by_id[gid]["members@delta"]}
        assert set(members) == {newcomer, leaver}
        assert "@removed" not in members[newcomer]
        assert members[leaver]["@removed"] == {"reason": "deleted"}
        assert by_id[gid]["displayName"] == store.sets["groups"].objects[gid]["displayName"]

        # Nothing changed since: an empty round.
        quiet, group_link3 = walk(client, group_link2)
        assert items(quiet) == []
        # Restore brings the group back with its members.
        assert client.post(f"/v1.0/directory/deletedItems/{doomed}/restore").status_code == 200
        restored = items(walk(client, group_link3)[0])
        assert [g["id"] for g in restored] == [doomed]
        assert "@removed" not in restored[0]
        assert sorted(m["id"] for m in restored[0].get("members@delta", [])) == sorted(
            store.linked("groups/members", doomed)
        )
        # Permanent delete of a user is reported as "deleted"; soft delete as "changed".
        victim = users[7]
        assert client.delete(f"/v1.0/users/{victim}").status_code == 204
        soft = items(walk(client, user_link2)[0])
        assert soft == [{"id": victim, "@removed": {"reason": "changed"}}]
        assert client.delete(f"/v1.0/directory/deletedItems/{victim}").status_code == 204
        hard = items(walk(client, user_link2)[0])
        assert hard == [{"id": victim, "@removed": {"reason": "deleted"}}]


def test_deleting_a_user_shows_as_member_removal(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    gid = next(
        g
        for g in store.sets["groups"].ids()
        if any(m in store.sets["users"] for m in store.linked("groups/members", g))
    )
    uid = next(m for m in store.linked("groups/members", gid) if m in store.sets["users"])
    with fakegraph.client() as client:
        _, link = walk(client, "/v1.0/groups/delta")
        assert client.delete(f"/v1.0/users/{uid}").status_code == 204
        changed = {g["id"]: g for g in items(walk(client, link)[0])}
        assert {
            "id": uid,
            "@odata.type": "#microsoft.graph.user",
            "@removed": {"reason": "deleted"},
        } in changed[gid]["members@delta"]


def test_large_group_members_split_across_pages(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    fakegraph.fake.engine.delta_member_slice = 7
    gid = max(store.sets["groups"].ids(), key=lambda g: len(store.linked("groups/members", g)))
    expected = store.linked("groups/members", gid)
    assert len(expected) > 14
    with fakegraph.client() as client:
        pages, _ = walk(client, "/v1.0/groups/delta?$select=displayName,description,members")
        slices = [(i, g) for i, page in enumerate(pages) for g in page["value"] if g["id"] == gid]
        assert len(slices) == -(-len(expected) // 7)
        # One slice per page, each slice ending its page except the last, same properties every time.
        for (index, group), (next_index, _) in itertools.pairwise(slices):
            assert next_index == index + 1
            assert pages[index]["value"][-1] is group
            assert len(group["members@delta"]) == 7
        assert {frozenset(k for k in g if k != "members@delta") for _, g in slices} == {
            frozenset({"id", "displayName", "description"})
        }
        assert [m["id"] for _, g in slices for m in g["members@delta"]] == expected
        # Every group appears (groups over 7 members once per slice, consecutively) with all its members.
        merged: dict[str, list[str]] = {}
        order: list[str] = []
        for group in items(pages):
            if not order or order[-1] != group["id"]:
                order.append(group["id"])
            merged.setdefault(group["id"], []).extend(m["id"] for m in group.get("members@delta", []))
        assert order == store.sets["groups"].ids()
        assert all(merged[g] == store.linked("groups/members", g) for g in order)


def test_delta_token_latest_and_filter_and_unsupported_options(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    with fakegraph.client() as client:
        latest = client.get("/v1.0/users/delta", params={"$deltatoken": "latest"}).json()
        assert latest["value"] == [] and "@odata.deltaLink" in latest and "@odata.nextLink" not in latest
        uid, other = store.sets["users"].ids()[:2]
        assert client.patch(f"/v1.0/users/{uid}", json={"department": "Delta"}).status_code == 204
        assert [u["id"] for u in client.get(latest["@odata.deltaLink"]).json()["value"]] == [uid]

        wanted = store.sets["users"].ids()[10:13]
        flt = " or ".join(f"id eq '{i}'" for i in wanted)
        pages, link = walk(client, f"/v1.0/users/delta?$filter={flt}")
        assert [u["id"] for u in items(pages)] == sorted(wanted)
        assert client.patch(f"/v1.0/users/{other}", json={"department": "Elsewhere"}).status_code == 204
        assert client.patch(f"/v1.0/users/{wanted[0]}", json={"department": "Here"}).status_code == 204
        assert [u["id"] for u in items(walk(client, link)[0])] == [wanted[0]]

        too_many = " or ".join(f"id eq '{i}'" for i in store.sets["users"].ids()[:51])
        assert client.get("/v1.0/users/delta", params={"$filter": too_many}).status_code == 400
        for option, value in (
            ("$top", "5"),
            ("$orderby", "displayName"),
            ("$expand", "memberOf"),
            ("$filter", "startswith(displayName,'A')"),
        ):
            response = client.get("/v1.0/users/delta", params={option: value})
            assert response.status_code == 400, option
            assert response.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_expired_token_answers_sync_state_not_found(fakegraph_factory: Any) -> None:
    running = fakegraph_factory(delta_token_ttl=0.5)
    with running.client() as client:
        _, link = walk(client, "/v1.0/users/delta")
        assert client.get(link).status_code == 200
        time.sleep(0.8)
        response = client.get(link)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "syncStateNotFound"
        assert error["message"] == (
            "The sync state generation is not found. The delta token is expired and data "
            "must be synchronized again."
        )


def test_forced_resync_answers_410_with_location(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client() as client:
        _, link = walk(client, "/v1.0/groups/delta?$select=displayName")
        assert client.post(f"{fakegraph.url}/_fakegraph/delta", json={"reset": True}).status_code == 200
        response = client.get(link)
        assert response.status_code == 410
        location = response.headers["Location"]
        assert "/v1.0/groups/delta?" in location and "$select=displayName" in location
        pages, fresh = walk(client, location)
        assert len(items(pages)) == len(fakegraph.store.sets["groups"])
        assert client.get(fresh).status_code == 200


def test_invalid_delta_token_is_rejected(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client() as client:
        _, link = walk(client, "/v1.0/users/delta")
        token = link.split("$deltatoken=")[1]
        # A users token on groups is not a sync state of groups.
        assert (
            client.get(f"/v1.0/groups/delta?$deltatoken={token}").json()["error"]["code"]
            == "syncStateNotFound"
        )
        assert client.get("/v1.0/users/delta?$deltatoken=garbage").status_code == 400
