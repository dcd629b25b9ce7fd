"""Every object fakegraph serves, on every declared endpoint and version, conforms to Graph's schema.

Resources come from ``all_resources()`` (whatever the areas declare); objects are fetched over HTTP,
every page, and checked with ``schemacheck.violations`` against the v1.0 CSDL (beta-only endpoints:
the beta property lists).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from entrasnap.fakegraph.areas import all_resources
from entrasnap.fakegraph.resource import Resource, fill
from entrasnap.fakegraph.service import RunningFakeGraph, start
from entrasnap.fakegraph.state import Store
from schemacheck import violations

RESOURCES = all_resources()
CASES = [
    pytest.param(res, version, id=f"{version}{res.path}")
    for res in RESOURCES
    for version in sorted(res.versions)
]
PARENT_SAMPLE = 4
MAX_PAGES = 200


@pytest.fixture(scope="module")
def tenant() -> Iterator[RunningFakeGraph]:
    running = start(size="S", seed=1, throttling=False)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(tenant: RunningFakeGraph) -> Iterator[httpx.Client]:
    with tenant.client() as http:
        yield http


# --- deriving concrete URLs from the declarations ----------------------------------------------------


def link_key(res: Resource) -> str:
    return res.path.lstrip("/").replace("/{id}", "")


def has_data(store: Store, res: Resource, params: dict[str, str]) -> bool:
    if res.kind in {"links", "link"}:
        return bool(store.linked(link_key(res), params.get("id", "")))
    if res.kind == "singleton":
        return res.key_for(params) in store.singletons
    entity_set = store.sets.get(res.key_for(params))
    if entity_set is None:
        return False
    if not res.match:
        return len(entity_set) > 0
    return any(
        all(str(o.get(p, "")).lower() == params[q].lower() for p, q in res.match) for o in entity_set.after()
    )


def parameter_sets(store: Store, res: Resource) -> list[dict[str, str]]:
    """Path parameters to try: parents taken from the store (the prefix before ``/{param}`` is a key)."""
    segments = res.path.strip("/").split("/")
    combos: list[dict[str, str]] = [{}]
    for index, segment in enumerate(segments):
        if not (segment.startswith("{") and segment.endswith("}")):
            continue
        name = segment[1:-1]
        expanded: list[dict[str, str]] = []
        for params in combos:
            prefix = fill("/".join(segments[:index]), params)
            parent = store.sets.get(prefix)
            ids = parent.ids() if parent is not None else []
            expanded += [{**params, name: i} for i in ids]
        combos = expanded
    if len(combos) <= PARENT_SAMPLE:
        return combos
    with_data = [p for p in combos if has_data(store, res, p)]
    without = [p for p in combos if p not in with_data[:PARENT_SAMPLE]]
    step = max(1, len(with_data) // PARENT_SAMPLE)
    return with_data[::step][:PARENT_SAMPLE] + without[:1]


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def required_filter(store: Store, res: Resource, params: dict[str, str]) -> str | None:
    """A $filter satisfying the resource's required filter, built from a stored object's values."""
    entity_set = store.sets.get(res.key_for(params))
    objects = list(entity_set.after()) if entity_set is not None else []
    for alternative in res.required_filter:
        for obj in objects:
            values = [obj.get(prop) for prop in alternative]
            if all(v is not None and not isinstance(v, dict | list) for v in values):
                return " and ".join(f"{p} eq {literal(v)}" for p, v in zip(alternative, values, strict=True))
    if res.required_filter:
        alternative = res.required_filter[0]
        return " and ".join(f"{p} eq '00000000-0000-0000-0000-000000000000'" for p in alternative)
    return None


def selectable(store: Store, res: Resource, params: dict[str, str]) -> list[str]:
    """Every property the stored objects carry (what ``$select`` of all properties returns)."""
    entity_set = store.sets.get(res.key_for(params))
    names: dict[str, None] = {}
    for obj in entity_set.after() if entity_set is not None else ():
        names.update(dict.fromkeys(k for k in obj if not k.startswith("@")))
    single_only = set(res.extra.get("single_only", ()))
    return [n for n in names if n not in single_only]


def fetch_pages(
    http: httpx.Client, url: str, params: dict[str, str], headers: dict[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    response = http.get(url, params=params, headers=headers or {})
    for _ in range(MAX_PAGES):
        assert response.status_code == 200, (
            f"GET {response.request.url}: {response.status_code} {response.text}"
        )
        body = response.json()
        yield body
        next_link = body.get("@odata.nextLink")
        if not next_link:
            return
        response = http.get(next_link, headers=headers or {})
    pytest.fail(f"more than {MAX_PAGES} pages at {url}")


def query_for(store: Store, res: Resource, params: dict[str, str]) -> dict[str, str]:
    query: dict[str, str] = {}
    if res.kind == "set" and res.default_select:
        chosen = selectable(store, res, params)
        if chosen:
            query["$select"] = ",".join(chosen)
    flt = required_filter(store, res, params)
    if flt:
        query["$filter"] = flt
    return query


def element_type(res: Resource, obj: dict[str, Any]) -> str:
    annotated = obj.get("@odata.type")
    return annotated if isinstance(annotated, str) else res.type


# --- the conformance test ------------------------------------------------------------------------------


@pytest.mark.parametrize(("res", "version"), CASES)
def test_every_object_conforms(
    tenant: RunningFakeGraph, client: httpx.Client, res: Resource, version: str
) -> None:
    store = tenant.store
    combos = parameter_sets(store, res)
    if "{" in res.path and not combos:
        pytest.skip(f"no parent objects in the store for {res.path}")
    problems: list[str] = []
    checked = 0
    for params in combos:
        url = f"/{version}/" + fill(res.path, params)
        if res.kind in {"singleton", "link"}:
            response = client.get(url)
            if response.status_code == 404 and not has_data(store, res, params):
                continue  # an optional singleton or link that this parent does not have
            assert response.status_code == 200, f"GET {url}: {response.status_code} {response.text}"
            body = response.json()
            problems += [f"{url}: {v}" for v in violations(element_type(res, body), body, version)]
            checked += 1
            continue
        first_id: str | None = None
        for page in fetch_pages(client, url, query_for(store, res, params)):
            assert isinstance(page.get("value"), list), f"{url}: no value array"
            problems += [
                f"{url}: unexpected top-level member {k}"
                for k in page
                if k != "value" and k not in {"@odata.context", "@odata.nextLink", "@odata.count"}
            ]
            for index, obj in enumerate(page["value"]):
                checked += 1
                problems += [
                    f"{url} [{obj.get('id', index)}]: {v}"
                    for v in violations(element_type(res, obj), obj, version)
                ]
                if first_id is None and isinstance(obj.get(res.id_field), str):
                    first_id = obj[res.id_field]
        if res.kind == "set" and first_id is not None and "GET" in res.item_methods:
            item_url = f"{url}/{first_id}"
            response = client.get(item_url)
            assert response.status_code == 200, f"GET {item_url}: {response.status_code} {response.text}"
            obj = response.json()
            problems += [f"{item_url}: {v}" for v in violations(element_type(res, obj), obj, version)]
        for name in res.expand:
            query = {"$expand": name, "$top": "5"}
            flt = required_filter(store, res, params)
            if flt:
                query["$filter"] = flt
            response = client.get(url, params=query)
            assert response.status_code == 200, f"GET {url}?$expand={name}: {response.text}"
            for obj in response.json()["value"]:
                problems += [
                    f"{url}?$expand={name} [{obj.get('id')}]: {v}"
                    for v in violations(element_type(res, obj), obj, version)
                ]
    assert not problems, f"{len(problems)} schema violations:\n" + "\n".join(problems[:60])
    if not checked:
        pytest.skip("no objects to check (empty collection or every sampled parent empty)")


# --- paging visits every object exactly once --------------------------------------------------------------


def expected_ids(store: Store, res: Resource, params: dict[str, str]) -> list[str]:
    if res.kind == "links":
        inverse = res.extra.get("inverse")
        linked = (
            store.linking(inverse, params["id"]) if inverse else store.linked(link_key(res), params["id"])
        )
        return [i for i in linked if store.resolve(i) is not None]
    entity_set = store.sets.get(res.key_for(params))
    if entity_set is None:
        return []
    return [
        str(o[res.id_field])
        for o in entity_set.after()
        if all(str(o.get(p, "")).lower() == params[q].lower() for p, q in res.match)
    ]


PAGED = [
    pytest.param(res, id=res.path)
    for res in RESOURCES
    if res.kind in {"set", "links"} and not res.required_filter
]


@pytest.mark.parametrize("res", PAGED)
def test_paging_visits_every_object_once(
    tenant: RunningFakeGraph, client: httpx.Client, res: Resource
) -> None:
    store = tenant.store
    version = "v1.0" if "v1.0" in res.versions else "beta"
    combos = parameter_sets(store, res)
    if not combos:
        pytest.skip(f"no parent objects in the store for {res.path}")
    for params in combos:
        url = f"/{version}/" + fill(res.path, params)
        want = expected_ids(store, res, params)
        tops: list[str | None] = [None]
        if res.page_size is not None and len(want) > 3:
            tops.append(str(max(1, min(res.max_page_size, len(want) // 3))))
        for top in tops:
            query = {"$top": top} if top else {}
            seen: list[str] = []
            pages = 0
            for page in fetch_pages(client, url, query):
                pages += 1
                seen += [str(o.get(res.id_field)) for o in page["value"]]
            assert len(seen) == len(set(seen)), f"{url} $top={top}: objects repeated across pages"
            assert sorted(seen) == sorted(want), f"{url} $top={top}: pages do not cover the collection"
            if top is not None:
                assert pages >= 3, f"{url} $top={top}: expected several pages, got {pages}"
            elif res.page_size is not None and len(want) > res.page_size:
                assert pages > 1, f"{url}: {len(want)} objects in one page (page size {res.page_size})"


# --- the checker itself must catch what it is meant to catch ------------------------------------------------


def test_schemacheck_catches_invented_and_mistyped_properties() -> None:
    bad = {
        "id": "1",
        "displayName": "x",
        "inventedProperty": 1,
        "accountEnabled": "yes",
        "businessPhones": "555",
        "identities": [{"signInType": "emailAddress", "bogus": 2}],
        "manager": {"@odata.type": "#microsoft.graph.user", "id": "2", "nope": 3},
    }
    found = violations("microsoft.graph.user", bad)
    for fragment in (
        "/inventedProperty",
        "/accountEnabled",
        "/businessPhones",
        "/identities[0]/bogus",
        "/manager/nope",
    ):
        assert any(fragment in v for v in found), (fragment, found)
    assert (
        violations("microsoft.graph.user", {"id": "1", "extension_0123456789abcdef0123456789abcdef_a": 1})
        == []
    )
    assert violations("microsoft.graph.group", {"@odata.type": "#microsoft.graph.user", "id": "x"})
    assert violations("microsoft.graph.conditionalAccessPolicy", {"id": "x", "state": "on"})
    named = {
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "id": "1",
        "isTrusted": True,
        "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "10.0.0.0/8"}],
    }
    assert violations("microsoft.graph.namedLocation", named) == []
    assert violations("microsoft.graph.namedLocation", {**named, "isTrusted": {"a": 1}})
    workflow = {"id": "w", "displayName": "x", "tasks": [{"id": "t", "invented": 1}]}
    assert violations("microsoft.graph.identityGovernance.workflow", workflow)
    assert violations("microsoft.graph.conditionalAccessPolicy", {"id": "x", "madeUp": 1}, "beta")
