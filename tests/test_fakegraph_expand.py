"""fakegraph's $expand on directory objects, as Graph documents it: list pages of at most 100 objects,
at most 20 expanded objects per relationship, no nextLink for the rest."""

from __future__ import annotations

from entrasnap.fakegraph.service import RunningFakeGraph


def test_expand_caps_page_size_and_expanded_items(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    users = [u["id"] for u in store.sets["users"].after()]
    devices = [d["id"] for d in store.sets["devices"].after()]
    sp = next(iter(store.sets["servicePrincipals"].after()))["id"]
    crowded = devices[0]
    for user in users[:25]:
        store.link("devices/registeredOwners", crowded, user)
        store.link("servicePrincipals/owners", sp, user)
    assert len(users) > 100
    with fakegraph.client() as http:
        plain = http.get("/v1.0/users", params={"$top": "999", "$select": "id"}).json()
        managers = http.get("/v1.0/users", params={"$top": "999", "$expand": "manager($select=id)"}).json()
        expanded = http.get(
            "/v1.0/devices", params={"$top": "999", "$expand": "registeredOwners($select=id)"}
        ).json()
        owners = http.get(
            "/v1.0/servicePrincipals", params={"$filter": f"id eq '{sp}'", "$expand": "owners($select=id)"}
        ).json()
    assert len(plain["value"]) == len(users) and "@odata.nextLink" not in plain
    assert len(managers["value"]) == 100 and managers["@odata.nextLink"]
    assert len(expanded["value"]) == len(devices)
    by_id = {d["id"]: d for d in expanded["value"]}
    assert [o["id"] for o in by_id[crowded]["registeredOwners"]] == store.linked(
        "devices/registeredOwners", crowded
    )[:20]
    for device in expanded["value"]:
        assert len(device["registeredOwners"]) == min(
            20, len(store.linked("devices/registeredOwners", device["id"]))
        )
    assert len(owners["value"][0]["owners"]) == 20
    assert "owners@odata.nextLink" not in owners["value"][0]
