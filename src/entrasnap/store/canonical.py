"""Canonical JSON and content hashes (see docs/FORMAT.md)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import orjson

HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def canonical_bytes(value: Any) -> bytes:
    """The one byte string for a JSON value: sorted keys, no spaces, UTF-8, no NaN/Infinity.

    The bytes are those of ``json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    allow_nan=False).encode("utf-8")`` (docs/FORMAT.md). orjson writes exactly these for values made of
    dicts with str keys, lists, tuples, str, int, bool and None (tests/test_canonical.py compares them);
    checking the types and writing with orjson takes about 40% of the standard library's time on an M
    snapshot's records (97 MB). Anything else (floats, which orjson may write
    otherwise, subclasses, other types) and anything orjson refuses (integers beyond 64 bits, lone
    surrogates, deep nesting) goes to the standard library, which writes it or raises as it always did.
    """
    try:
        if _plain(value):
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, RecursionError):
        pass
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def _plain(value: Any) -> bool:
    """Whether ``value`` holds only dicts with str keys, lists, tuples, str, int, bool and None (the
    exact types: no subclasses)."""
    kind = type(value)
    if kind is dict:
        for key in value:
            if type(key) is not str:
                return False
        items = value.values()
    elif kind is list or kind is tuple:
        items = value
    else:
        return kind is str or value is None or kind is bool or kind is int
    for item in items:
        kind = type(item)
        if kind is str or item is None or kind is bool or kind is int:
            continue  # the common case, without a call
        if not _plain(item):
            return False
    return True


def digest(data: bytes) -> str:
    """The sha256 hex digest that names stored content."""
    return hashlib.sha256(data).hexdigest()
