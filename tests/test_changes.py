"""Property-level differences: the fast paths a large diff takes give exactly what the general ones give."""

from __future__ import annotations

import random
from typing import Any

from entrasnap.services.changes import _as_set, _set_key, diff_records, diff_values

GUIDS = [f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(12)]


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 2 else 4)
    if kind == 0:
        return rng.choice([None, True, False, 0, 1, 1.5])
    if kind in (1, 2):
        return rng.choice(["a", "B", "b", *GUIDS[:3], GUIDS[0].upper()])
    if kind == 3:
        return rng.sample(GUIDS, rng.randrange(4)) + rng.sample(["x", "X", "y"], rng.randrange(2))
    if kind == 4:
        return {k: _value(rng, depth + 1) for k in rng.sample("abcde", rng.randrange(4))}
    if kind == 5:
        return [{"id": i, "v": _value(rng, depth + 1)} for i in rng.sample(GUIDS[:4], rng.randrange(3))]
    return [{"v": _value(rng, depth + 1)} for _ in range(rng.randrange(3))]


def _record(rng: random.Random, keys: list[str]) -> dict[str, Any]:
    return {"id": "o", "object": {k: _value(rng) for k in keys}}


def _mutated(rng: random.Random, record: dict[str, Any]) -> dict[str, Any]:
    obj = dict(record["object"])
    for key in rng.sample(sorted(obj), min(len(obj), rng.randrange(3))):
        obj[key] = _value(rng)
    return {"id": "o", "object": obj}


def _reordered(record: dict[str, Any]) -> dict[str, Any]:
    return {"id": "o", "object": dict(reversed(record["object"].items()))}


def test_same_properties_compared_pairwise_give_what_the_general_path_gives() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        keys = sorted(rng.sample("abcdefghij", rng.randrange(1, 8)))
        before = _record(rng, keys)
        after = _mutated(rng, before)
        fast = diff_records(before, after)  # same keys in the same order: compared value by value in C
        general = diff_records(_reordered(before), after)  # another order: the general path
        assert [c.as_json() for c in fast] == [c.as_json() for c in general]
        assert [(c.refs, c.object_ids) for c in fast] == [(c.refs, c.object_ids) for c in general]


def test_string_sets_are_the_scalar_sets() -> None:
    rng = random.Random(3)
    for _ in range(500):
        values = [rng.choice([*GUIDS[:5], GUIDS[1].upper(), "Ab", "aB"]) for _ in range(rng.randrange(8))]
        assert _as_set(values) == {_set_key(v): v for v in values}
        assert list(_as_set(values) or {}) == list({_set_key(v): v for v in values})


def test_members_gained_and_lost_in_list_order_once_each() -> None:
    before = {"id": "g", "object": {"ids": [GUIDS[0], GUIDS[1], GUIDS[2]]}}
    after = {"id": "g", "object": {"ids": [GUIDS[3], GUIDS[1].upper(), GUIDS[4], GUIDS[3], GUIDS[0]]}}
    (change,) = diff_values(before["object"], after["object"])
    assert (change.path, change.added, change.removed) == ("ids", [GUIDS[3], GUIDS[4]], [GUIDS[2]])


def test_an_unchanged_child_list_is_no_change() -> None:
    settings = [{"name": "x", "value": 1}, {"name": "x", "value": 2}]  # no key identifies the elements
    before = {"id": "g", "object": {"a": 1}, "children": {"settings": settings, "owners": [GUIDS[0]]}}
    after = {"id": "g", "object": {"a": 2}, "children": {"settings": list(settings), "owners": [GUIDS[0]]}}
    assert [c.path for c in diff_records(before, after)] == ["a"]
    after["children"]["settings"] = settings[::-1]  # reordered: compared in order, as a whole
    assert [c.path for c in diff_records(before, after)] == ["a", "settings"]
