"""Canonical JSON: orjson's bytes where it is used are exactly the standard library's (docs/FORMAT.md)."""

from __future__ import annotations

import enum
import json
import random
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.store import LocalBackend, Repository
from entrasnap.store.canonical import _plain, canonical_bytes
from test_snapshot_robustness import snapshot


def reference(value: Any) -> bytes:
    """docs/FORMAT.md's definition, verbatim."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


TRICKY_CHARS = (
    [chr(c) for c in range(0x20)]  # control characters: short escapes and \u00xx
    + ['"', "\\", "/", "\x7f", "\x80", "\x9f", "\xa0", "\xad", "é", "ß", "Ω", "東"]
    + ["\u2028", "\u2029", "\u200b", "\u200e", "\ufeff", "\ufffd", "\ufffe", "\uffff", "\ue000", "\uf8ff"]
    + ["😀", "𝄞", "\U0001f3f3\ufe0f\u200d\U0001f308", "\U00010000", "\U0010ffff", "a", "Z", "0", " ", "~"]
)
TRICKY_INTS = [0, 1, -1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), 2**64 - 1]


def tricky_text(rng: random.Random) -> str:
    return "".join(rng.choice(TRICKY_CHARS) for _ in range(rng.randrange(0, 8)))


def plain_value(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value of the kinds orjson writes (dicts with str keys, lists, tuples, str, int,
    bool, None), with awkward strings, keys that sort differently by code point and by UTF-16, and
    integers at the edges of 64 bits."""
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return tricky_text(rng)
    if kind == 1:
        return (
            rng.choice(TRICKY_INTS) * rng.choice((1, -1)) if rng.random() < 0.5 else rng.randrange(-999, 999)
        )
    if kind == 2:
        return rng.choice((True, False, None))
    if kind in (3, 4):
        return rng.choice(["", "id", "displayName", "@odata.type", "a\u0000b", "\U0001f600", "\uffff"])
    if kind in (5, 6):
        return {tricky_text(rng): plain_value(rng, depth + 1) for _ in range(rng.randrange(0, 7))}
    items = [plain_value(rng, depth + 1) for _ in range(rng.randrange(0, 5))]
    return tuple(items) if kind == 7 else items


def test_orjson_writes_the_standard_librarys_bytes_for_plain_values() -> None:
    rng = random.Random(20261128)
    values = [plain_value(rng) for _ in range(20000)]
    values += [
        {c: c for c in TRICKY_CHARS},
        {c + "x": 1 for c in TRICKY_CHARS},
        TRICKY_INTS,
        tuple(TRICKY_CHARS),
    ]
    for value in values:
        assert _plain(value), value  # the fast path is the one under test
        assert canonical_bytes(value) == reference(value), value


class Number(enum.IntEnum):
    ONE = 1


class Text(str):
    pass


@pytest.mark.parametrize(
    "value",
    [
        1e-05,  # orjson writes 0.00001
        [1.5e-07, {"a": -0.0}, 1e16, 5e-324, 0.1],
        2**64,  # beyond orjson's 64 bits
        -(2**63) - 1,
        {"n": Number.ONE, Text("k"): Text("v")},
        {"n": True, "i": 3, "f": 1e-05},
    ],
)
def test_other_values_are_written_by_the_standard_library(value: Any) -> None:
    try:
        differs = orjson.dumps(value, option=orjson.OPT_SORT_KEYS) != reference(value)
    except orjson.JSONEncodeError:
        differs = True
    assert differs  # orjson alone would get it wrong
    assert canonical_bytes(value) == reference(value)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"x": float("nan")}, ValueError),  # orjson would write null
        ([float("inf")], ValueError),
        ("\ud800", UnicodeEncodeError),  # a lone surrogate: not UTF-8
        ({"k": object()}, TypeError),
        ({1: "int key"}, None),  # the standard library writes "1"
    ],
)
def test_what_the_standard_library_refuses_is_still_refused(
    value: Any, error: type[Exception] | None
) -> None:
    if error is None:
        assert canonical_bytes(value) == reference(value)
        return
    with pytest.raises(error):
        canonical_bytes(value)


def test_deep_and_circular_values_behave_as_before() -> None:
    deep: Any = "leaf"
    for _ in range(300):  # deeper than orjson's limit (255)
        deep = [deep]
    assert canonical_bytes(deep) == reference(deep)
    circular: list[Any] = []
    circular.append(circular)
    limit = sys.getrecursionlimit()
    with pytest.raises(ValueError, match="Circular"):
        canonical_bytes(circular)
    assert sys.getrecursionlimit() == limit
    with pytest.raises(orjson.JSONEncodeError):  # what the fallback is for
        orjson.dumps(deep)


def test_every_object_of_a_snapshot_has_the_standard_librarys_bytes(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    store = tmp_path / "repo"
    result, record = snapshot(fakegraph, store)
    assert result.exit_code == 0 and record is not None, result.output
    repo = Repository.open(LocalBackend(store))
    snap = repo.find("latest")
    checked = 0
    for type_key in snap.types:
        for chunk in repo.chunks(snap, type_key):
            hashes = [chunk] + [entry[1] for entry in repo.get(chunk)["entries"]]
            for data in repo.get_many_data(hashes).values():
                value = orjson.loads(data)
                assert canonical_bytes(value) == reference(value) == data
                checked += 1
    assert checked > 500
