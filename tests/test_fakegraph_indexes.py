"""fakegraph's shortcuts give the answers of the plain scans they replace: a ``$filter`` narrowed
through a set's index, and routes looked up by their first segment."""

from __future__ import annotations

import itertools

import pytest

from entrasnap.fakegraph.areas import all_resources
from entrasnap.fakegraph.engine import Engine, Request
from entrasnap.fakegraph.odata import GraphError, decode_token, parse_filter
from entrasnap.fakegraph.router import Match, Route, Router
from entrasnap.fakegraph.state import JSON, Store
from entrasnap.fakegraph.tenant import generate


@pytest.fixture(scope="module")
def store() -> Store:
    return generate("S", 1)


def _filters(objects: list[JSON]) -> list[str]:
    """``eq`` filters on values the objects really hold (case swapped), alone and combined."""
    strings: dict[str, list[str]] = {}
    for obj in objects:
        for prop, value in obj.items():
            if isinstance(value, str) and "'" not in value and not prop.startswith("@"):
                strings.setdefault(prop, []).append(value)
    singles = [f"{p} eq '{values[len(values) // 2].swapcase()}'" for p, values in sorted(strings.items())]
    pairs = [f"{a} and {b}" for a, b in itertools.pairwise(singles)]
    return [*singles, *pairs, *(f"({a}) or {b}" for a, b in itertools.pairwise(singles))]


def test_filter_through_an_index_finds_what_a_scan_finds(store: Store) -> None:
    engine = Engine(store, all_resources())
    compared = 0
    for key, resource in engine.set_resources.items():
        entity_set = store.sets.get(key)
        if entity_set is None or not len(entity_set):
            continue
        objects = list(entity_set.after())
        for text in _filters(objects):
            found = parse_filter(text)
            scanned = [o[resource.id_field] for o in objects if found.predicate(o)]
            narrowed = [
                o[resource.id_field]
                for o in engine.source_objects(resource, {}, where=found.equalities)
                if found.predicate(o)
            ]
            assert narrowed == scanned, (key, text)
            middle = scanned[len(scanned) // 2] if scanned else None
            after = [
                o[resource.id_field] for o in engine.source_objects(resource, {}, middle, found.equalities)
            ]
            assert [i for i in after if i in set(scanned)] == [
                i for i in scanned if middle is None or i > middle
            ]
            compared += bool(scanned)
    assert compared > 500


def test_filtered_pages_follow_the_scan(store: Store) -> None:
    """Paging a filtered listing two objects at a time returns the scan's objects, in order."""
    engine = Engine(store, all_resources())
    schedules = "identityGovernance/privilegedAccess/group/eligibilitySchedules"
    group = next(iter(store.sets[schedules].after()))["groupId"]
    text = f"groupId eq '{group.upper()}' and status ne 'x'"
    expected = [o["id"] for o in store.sets[schedules].after() if parse_filter(text).predicate(o)]
    seen: list[str] = []
    query = {"$filter": text, "$top": "2"}
    while True:
        response = engine.handle(Request("GET", "v1.0", "/" + schedules, query))
        assert response.status == 200, response.body
        seen += [o["id"] for o in response.body["value"]]
        link = response.body.get("@odata.nextLink")
        if not link:
            break
        token = link.split("$skiptoken=")[1]
        assert decode_token(token) == seen[-1]
        query = {**query, "$skiptoken": token}
    assert seen == expected and len(expected) >= 2


@pytest.mark.parametrize(
    ("text", "equalities"),
    [
        ("groupId eq 'g1'", {"groupId": "g1"}),
        ("scopeId eq '/' and (scopeType eq 'Directory' or scopeType eq 'DirectoryRole')", {"scopeId": "/"}),
        ("a eq 'x' and b eq 'y'", {"a": "x", "b": "y"}),
        ("a eq 'it''s'", {"a": "it's"}),
        ("id eq 0b8c2c36-1c4e-4b3c-9b2e-2f0c5b9f6a11", {"id": "0b8c2c36-1c4e-4b3c-9b2e-2f0c5b9f6a11"}),
        ("a eq 'x' or b eq 'y'", {}),
        ("not a eq 'x'", {}),
        ("a ne 'x'", {}),
        ("a eq 1", {}),
        ("a eq null", {}),
        ("'x' eq a", {}),
        ("a/b eq 'x'", {}),
        ("a in ('x')", {}),
        ("startswith(a, 'x')", {}),
        ("tags/any(t:t eq 'x')", {}),
    ],
)
def test_filter_equalities_are_necessary_conditions(text: str, equalities: dict[str, str]) -> None:
    assert parse_filter(text).equalities == equalities


def _scan(router: Router, path: str, version: str) -> Match | None:
    """The route a plain scan of every route of the path's length picks (the router's first answer)."""
    segments = tuple(s for s in path.strip("/").split("/") if s)
    for route in router.routes.get(len(segments), []):
        params: dict[str, str] = {}
        for want, got in zip(route.segments, segments, strict=True):
            if want.startswith("{"):
                if got.startswith("$") or (
                    want == "{cast}" and not got.lower().startswith("microsoft.graph.")
                ):
                    break
                params[want[1:-1]] = got
            elif want.lower() != got.lower():
                break
        else:
            if version in route.resource.versions:
                cast = params.pop("cast", None)
                return Match(route, params, cast)
    return None


def _paths(route: Route) -> list[str]:
    fillers = {"{cast}": "microsoft.graph.user"}
    plain = "/".join(fillers.get(s, "x1") if s.startswith("{") else s for s in route.segments)
    shouted = "/".join(fillers.get(s, "$x") if s.startswith("{") else s.upper() for s in route.segments)
    return ["/" + plain, "/" + shouted]


def test_router_picks_the_route_a_scan_picks() -> None:
    router = Router(all_resources())
    routes = [r for rs in router.routes.values() for r in rs]
    for route, version in itertools.product(routes, ("v1.0", "beta")):
        for path in _paths(route):
            expected = _scan(router, path, version)
            try:
                got: Match | None = router.match(path, version)
            except GraphError:
                got = None
            assert got == expected, path


def test_selected_defaults_are_copies_per_answer(store: Store) -> None:
    """Sparse objects answer a selected list or object default with their own copy of it."""
    engine = Engine(store, all_resources())
    query = {"$select": "id,onPremisesExtensionAttributes,businessPhones", "$top": "999"}
    users = engine.handle(Request("GET", "v1.0", "/users", query)).body["value"]
    groups = engine.handle(Request("GET", "v1.0", "/groups", {"$select": "id,groupTypes"})).body["value"]
    extensions = [u["onPremisesExtensionAttributes"] for u in users]
    group_types = [g["groupTypes"] for g in groups if not g["groupTypes"]]
    assert len(extensions) > 1 and len(group_types) > 1
    assert len({id(e) for e in extensions}) == len(extensions)
    assert len({id(t) for t in group_types}) == len(group_types)
    assert extensions[0] == {f"extensionAttribute{n}": None for n in range(1, 16)}
